// `perennial serve`: a read-only dashboard over the run store. Binds 127.0.0.1 unless told
// otherwise; answers GET and HEAD only; serves files only from inside the store's folder (after
// resolving links), with bounded request sizes and times.
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { InputError } from '../errors.js';
import { compareRuns } from './compare.js';
import { APP_CSS, APP_JS, PAGE_HTML } from './dashboard-page.js';
import { comparePlots } from './plots.js';
import { RunStore, type RunRow } from './runs.js';

export const MAX_URL = 4096;
export const MAX_COMPARE_HTTP = 50;

const TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.txt': 'text/plain; charset=utf-8', '.csv': 'text/csv; charset=utf-8',
};

function vendorFile(pkg: string, file: string): string {
  const paths = createRequire(import.meta.url).resolve.paths(pkg) ?? [];
  for (const base of paths) {
    const p = join(base, pkg, file);
    if (existsSync(p)) return p;
  }
  throw new InputError(`perennial serve needs ${pkg}/${file} (npm install)`);
}

export interface ServeOptions { readonly host?: string; readonly port?: number }

class HttpError extends Error { constructor(readonly status: number, msg: string) { super(msg); } }

export class Dashboard {
  readonly root: string;
  private readonly rootReal: string;
  private readonly assets: Record<string, { type: string; body?: string; file?: string }>;
  server: Server | null = null;
  constructor(readonly store: RunStore) {
    this.root = dirname(store.path);
    this.rootReal = realpathSync(this.root);
    this.assets = {
      '/assets/app.js': { type: 'text/javascript; charset=utf-8', body: APP_JS },
      '/assets/app.css': { type: 'text/css; charset=utf-8', body: APP_CSS },
      '/assets/vega.min.js': { type: 'text/javascript; charset=utf-8', file: vendorFile('vega', 'build/vega.min.js') },
      '/assets/vega-lite.min.js': { type: 'text/javascript; charset=utf-8', file: vendorFile('vega-lite', 'build/vega-lite.min.js') },
    };
  }

  /** A path inside the store folder, or null; links are followed before the check. */
  inside(p: string): string | null {
    const abs = resolve(this.root, p);
    const rel = relative(this.root, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
    let real: string;
    try { real = realpathSync(abs); } catch { return abs; } // absent: 404 later
    const r2 = relative(this.rootReal, real);
    return r2 === '' || r2.startsWith('..') || isAbsolute(r2) ? null : real;
  }

  private reportOf(r: RunRow): string | null {
    const html = r.path.replace(/\.json$/, '.html');
    if (html === r.path || !this.inside(html) || !existsSync(html)) return null;
    return '/files/' + relative(this.root, html).split(sep).map(encodeURIComponent).join('/');
  }

  listen(o: ServeOptions = {}): Promise<{ host: string; port: number }> {
    const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 128;
    this.server = server;
    const host = o.host ?? '127.0.0.1';
    return new Promise((res, rej) => {
      server.once('error', (e) => rej(new InputError(`perennial serve: cannot listen on ${host}:${o.port ?? 0}: ${(e as Error).message}`)));
      server.listen(o.port ?? 0, host, () => res({ host, port: (server.address() as { port: number }).port }));
    });
  }

  close(): Promise<void> {
    return new Promise((r) => { if (!this.server) { r(); return; } this.server.close(() => r()); this.server.closeAllConnections(); });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      const url = req.url ?? '/';
      if (url.length > MAX_URL) throw new HttpError(414, 'URL too long');
      if (req.method !== 'GET' && req.method !== 'HEAD') { res.setHeader('Allow', 'GET, HEAD'); throw new HttpError(405, `${req.method} not allowed: this dashboard is read-only`); }
      const len = Number(req.headers['content-length'] ?? 0);
      if (len > 0 || req.headers['transfer-encoding']) throw new HttpError(413, 'request bodies are not accepted');
      const [rawPath, rawQuery = ''] = url.split('?', 2) as [string, string?];
      let path: string;
      try { path = decodeURIComponent(rawPath); } catch { throw new HttpError(400, 'malformed URL'); }
      if (path.includes('\0') || path.includes('\\')) throw new HttpError(400, 'malformed path');
      const q = new URLSearchParams(rawQuery);
      this.route(req, res, path, rawPath, q);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : e instanceof InputError ? 404 : 500;
      const msg = e instanceof HttpError || e instanceof InputError ? e.message : 'internal error';
      if (status === 500) process.stderr.write(`perennial serve: ${(e as Error).stack ?? e}\n`);
      this.send(req, res, status, 'text/plain; charset=utf-8', msg + '\n');
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private json(req: IncomingMessage, res: ServerResponse, v: unknown): void {
    this.send(req, res, 200, 'application/json; charset=utf-8', JSON.stringify(v));
  }

  private route(req: IncomingMessage, res: ServerResponse, path: string, rawPath: string, q: URLSearchParams): void {
    if (path === '/' || path === '/index.html') {
      res.setHeader('Content-Security-Policy', "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
      this.send(req, res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      return;
    }
    const asset = this.assets[path];
    if (asset) {
      if (asset.body !== undefined) { this.send(req, res, 200, asset.type, asset.body); return; }
      this.stream(req, res, asset.file!, asset.type);
      return;
    }
    if (path === '/api/info') {
      const commands = (this.store.db.prepare('SELECT DISTINCT command FROM runs ORDER BY command').all() as { command: string }[]).map((r) => r.command);
      this.json(req, res, { store: this.store.path, runs: this.store.count(), commands });
      return;
    }
    if (path === '/api/runs') {
      const rows = this.store.list({ command: q.get('command') || undefined, method: q.get('method') || undefined, dataset: q.get('dataset') || undefined, since: q.get('since') || undefined, limit: 5000 });
      this.json(req, res, { runs: rows.map((r) => ({ id: r.id, command: r.command, job: r.job, created: r.created, seed: r.seed, method: r.method, dataset: r.dataset, metrics: r.metrics, report: this.reportOf(r) })) });
      return;
    }
    let m = /^\/api\/runs\/([0-9a-f]{4,64})$/.exec(path);
    if (m) {
      const r = this.store.get(m[1]);
      this.json(req, res, { ...r, record: undefined, report: this.reportOf(r) });
      return;
    }
    if (path === '/api/compare') {
      const ids = (q.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length < 2) throw new HttpError(400, 'compare needs ids=a,b (two or more run ids)');
      if (ids.length > MAX_COMPARE_HTTP) throw new HttpError(400, `at most ${MAX_COMPARE_HTTP} runs at once`);
      if (ids.some((i) => !/^[0-9a-f]{4,64}$/.test(i))) throw new HttpError(400, 'run ids are hex digits');
      const runs = ids.map((i) => this.store.get(i));
      const comparison = compareRuns(runs);
      this.json(req, res, { comparison, plots: comparePlots(runs, comparison) });
      return;
    }
    m = /^\/record\/([0-9a-f]{4,64})$/.exec(path);
    if (m) {
      const r = this.store.get(m[1]);
      const text = (this.store.db.prepare('SELECT record FROM runs WHERE id = ?').get(r.id) as { record: string | null }).record;
      if (text !== null) { this.send(req, res, 200, 'application/json; charset=utf-8', text); return; }
      const inside = this.inside(r.path);
      if (!inside) throw new HttpError(403, 'this record is too large to keep in the store and lives outside the store folder');
      this.stream(req, res, inside, TYPES['.json']);
      return;
    }
    if (rawPath.startsWith('/files/')) {
      const rel = path.slice('/files/'.length);
      const inside = this.inside(rel);
      if (!inside) throw new HttpError(403, 'outside the store folder');
      const type = TYPES[extname(inside).toLowerCase()];
      if (!type) throw new HttpError(403, 'only records, reports and images are served');
      let st;
      try { st = statSync(inside); } catch { throw new HttpError(404, 'no such file'); }
      if (!st.isFile()) throw new HttpError(404, 'no such file');
      // Reports are self-contained pages: sandboxed so nothing in one can act as the dashboard.
      if (type.startsWith('text/html')) res.setHeader('Content-Security-Policy', 'sandbox allow-scripts');
      this.stream(req, res, inside, type);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  private stream(req: IncomingMessage, res: ServerResponse, file: string, type: string): void {
    const st = statSync(file);
    res.statusCode = 200;
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', st.size);
    res.setHeader('Cache-Control', 'no-store');
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }
}
