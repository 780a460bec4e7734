// Indexing every record as it is written: one cached connection per process, and a failure to
// index never touches the JSON file (already written and the source of truth); it costs one line
// on stderr and `perennial runs import` adds the record later.
import { dirname, resolve } from 'node:path';
import { indexingOff, resolveStorePath } from './db.js';
import { RunStore, jobOfEnv, jobOfPath } from './runs.js';

let cached: RunStore | null = null;

function store(): RunStore {
  const path = resolveStorePath();
  if (cached && cached.path === path && cached.db.open) return cached;
  cached?.close();
  cached = new RunStore(path);
  return cached;
}

/** Index a record just written at `path`; returns the run id, or null when off or it failed. */
export function indexWrittenRecord(path: string, record: object): string | null {
  if (indexingOff()) return null;
  const file = resolve(path);
  try {
    // The same text writeJsonAtomic wrote, so the id equals the one `runs import` computes.
    const text = JSON.stringify(record, null, 2) + '\n';
    return store().index(file, text, jobOfEnv() ?? jobOfPath(file));
  } catch (e) {
    let where = '';
    try { where = ` ${resolveStorePath()}`; } catch { /* keep the message short */ }
    process.stderr.write(`perennial: warning: record ${file} was written but not indexed in the run store${where} (${(e as Error).message.split('\n')[0]}); \`perennial runs import ${dirname(file)}\` adds it later\n`);
    return null;
  }
}

/** Close the cached connection (tests, workers between jobs). */
export function closeIndexStore(): void {
  cached?.close();
  cached = null;
}
