// `perennial serve`: the run store's dashboard (read-only) on 127.0.0.1 unless --host says otherwise.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { resolveStorePath } from '../core/store/db.js';
import { RunStore } from '../core/store/runs.js';
import { Dashboard } from '../core/store/server.js';
import type { AreaCli } from './types.js';
import { parseIntOption } from './util.js';

function register(program: Command): void {
  program
    .command('serve')
    .description('dashboard of the run store: filter runs, compare two or more (metrics, paired differences, plots); read-only')
    .option('--store <path>', 'run store (default: PERENNIAL_STORE, else runs/perennial.db)')
    .option('--port <P>', 'port (0: any free one)', parseIntOption('port'), 8377)
    .option('--host <addr>', 'address to bind (default 127.0.0.1: this machine only)')
    .action(async (o: { store?: string; port: number; host?: string }) => {
      if (!(o.port >= 0 && o.port <= 65535)) throw new InputError(`--port must be 0..65535, got ${o.port}`);
      const path = resolveStorePath(o.store);
      if (!existsSync(path)) throw new InputError(`no run store at ${path}: write a record with --json, or \`perennial runs import DIR\``);
      const store = new RunStore(path, { readonly: true });
      const d = new Dashboard(store);
      const { host, port } = await d.listen({ host: o.host, port: o.port });
      const shown = host.includes(':') ? `[${host}]` : host;
      process.stdout.write(`perennial serve: http://${shown}:${port}/ (store ${path}, ${store.count()} runs; Ctrl-C stops)\n`);
      if (o.host && o.host !== '127.0.0.1' && o.host !== 'localhost' && o.host !== '::1') process.stderr.write(`perennial: warning: serving on ${o.host}: anyone who can reach it can read every record in the store\n`);
      await new Promise<void>((resolveStop) => {
        const stop = (): void => { void d.close().then(() => { store.close(); resolveStop(); }); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

export const serveCli: AreaCli = { name: 'serve', register };
