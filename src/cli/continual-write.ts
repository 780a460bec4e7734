// Writes what a `cil` run gives back: the record, its console lines, the HTML report.
import { resolve } from 'node:path';
import { writeRecord } from '../core/record.js';
import { writeReport } from '../core/report.js';
import type { RunOutputs } from '../continual/index.js';

export async function writeRunOutputs(r: RunOutputs, out: { json: string; html?: string }): Promise<void> {
  const json = resolve(out.json);
  writeRecord(json, r.record);
  process.stdout.write(`record: ${json}\n`);
  for (const line of r.lines) process.stdout.write(line);
  if (out.html) {
    const html = resolve(out.html);
    await writeReport(html, r.title, [...r.sections]);
    process.stdout.write(`report: ${html}\n`);
  }
}
