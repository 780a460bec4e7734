// `npm run reference -- llm`: checks of the llm area against independent implementations.
//  1. The GGUF header reader agrees with node-llama-cpp's own GGUF parser (readGgufFileInfo) on
//     every metadata value and tensor (name, dims, type, offset) of the project's tiny models.
//  2. The bigram construction is exact: llama.cpp's greedy continuation of many corpus prefixes
//     equals the argmax chain of the bigram table computed here in float64.
//  3. The harness at scale on the tiny model: n = 200 items per task family (word_count,
//     arithmetic, theorem) x 2 repeats, with the modal baseline and the echo leak stub beside it;
//     a rerun from the cache makes no model calls and reproduces the task section exactly.
// The tiny model solves no task: its S/G/V are harness checks, not results.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import {
  EchoProvider, LlamaCppProvider, readGgufHeader, renderPlain, runSelfKnowledge, selectTasks, tinyTokenize, writeTinyGguf,
} from '../src/llm/index.js';
import { TOKEN_EOS } from '../src/llm/tiny.js';

let failures = 0;
function check(name: string, ok: boolean, detail = ''): void {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}\n`);
  if (!ok) failures++;
}

const dir = mkdtempSync(join(tmpdir(), 'perennial-ref-llm-'));
try {
  // 1. Header reader vs node-llama-cpp's parser.
  for (const kind of ['bigram', 'random'] as const) {
    const path = join(dir, `${kind}.gguf`);
    writeTinyGguf(path, { kind, seed: 1, corpus: kind === 'bigram' ? 'Grüße aus Köln! 12 + 30 = 42.\n{"answer": 3}' : undefined });
    const ours = readGgufHeader(path);
    const peer = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
    const flat = new Map<string, unknown>();
    const walk = (o: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
        else flat.set(`${prefix}${k}`, v);
      }
    };
    walk(peer.metadata as unknown as Record<string, unknown>, '');
    let mismatched = 0;
    for (const [k, v] of ours.metadata) {
      const pv = flat.get(k);
      const same = Array.isArray(v) ? Array.isArray(pv) && pv.length === v.length && v.every((x, i) => (typeof x === 'number' ? Math.abs(x - Number(pv[i])) < 1e-6 : x === pv[i])) : typeof v === 'number' ? Math.abs(v - Number(pv)) < 1e-6 : v === pv;
      if (!same) { mismatched++; process.stdout.write(`  metadata ${k}: ours ${JSON.stringify(v)?.slice(0, 60)} peer ${JSON.stringify(pv)?.slice(0, 60)}\n`); }
    }
    check(`${kind}: ${ours.metadata.size} metadata values equal node-llama-cpp's`, mismatched === 0 && flat.size === ours.metadata.size, `${mismatched} mismatched, peer has ${flat.size}`);
    const pt = peer.tensorInfo ?? [];
    const tensorsSame = pt.length === ours.tensors.length && ours.tensors.every((t, i) => t.name === pt[i]!.name && JSON.stringify(t.dims) === JSON.stringify(pt[i]!.dimensions.map(Number)) && t.type === pt[i]!.ggmlType && t.offset === Number(pt[i]!.offset));
    check(`${kind}: ${ours.tensors.length} tensor infos equal node-llama-cpp's`, tensorsSame);
  }

  // 2. Greedy llama.cpp output = argmax chain of the bigram table.
  const path = join(dir, 'tiny.gguf');
  const m = writeTinyGguf(path);
  const V = m.vocab.tokens.length;
  const provider = new LlamaCppProvider({ modelPath: path, threads: 1 });
  const prompts = ['cat', 'The', 'answer', '{"a', 'print(', 'x y z', 'Count 12 words', 'Grüße'];
  let same = 0;
  for (const p of prompts) {
    const messages = [{ role: 'user' as const, content: p }];
    const r = await provider.complete({ messages, temperature: 0, maxTokens: 40 });
    const ids = tinyTokenize(m.vocab, renderPlain(messages));
    let cur = ids[ids.length - 1]!;
    let want = '';
    for (let t = 0; t < 40; t++) {
      let best = 0;
      for (let j = 1; j < V; j++) if (m.logProbs![cur * V + j]! > m.logProbs![cur * V + best]!) best = j;
      if (best === TOKEN_EOS) break;
      const tok = m.vocab.tokens[best]!;
      want += tok === '\u2581' ? ' ' : tok;
      cur = best;
    }
    if (r.text === want) same++;
    else process.stdout.write(`  prompt ${JSON.stringify(p)}: llama.cpp ${JSON.stringify(r.text)} vs table ${JSON.stringify(want)}\n`);
  }
  check('greedy llama.cpp continuations equal the bigram argmax chain', same === prompts.length, `${same}/${prompts.length}`);

  // 3. The harness at n = 200 items per family.
  const tasks = selectTasks('word_count,arithmetic,theorem');
  const cache = join(dir, 'ref.cache.jsonl');
  const opts = { items: 200, repeats: 2, seed: 0, cache };
  const t0 = performance.now();
  const r = await runSelfKnowledge(tasks, provider, opts);
  const wall = (performance.now() - t0) / 1000;
  for (const [id, t] of Object.entries(r.tasks)) {
    const f = (v: number | null, c: readonly [number, number] | null): string => (v === null ? 'n/a' : `${v.toFixed(3)} [${c![0].toFixed(3)}, ${c![1].toFixed(3)}]`);
    process.stdout.write(`  ${id}: S ${f(t.self_consistency, t.intervals.self_consistency)}, G ${f(t.generation_correct, t.intervals.generation_correct)}, V ${f(t.verification_correct, t.intervals.verification_correct)}, modal baseline ${t.baseline_modal_self_consistency?.toFixed(3)}, pass^2 ${t.pass_k?.toFixed(3)}, format failures ${t.format_failure_rate?.toFixed(3)}, joint ${JSON.stringify(t.joint)}\n`);
  }
  process.stdout.write(`  ${r.throughput.pairs} runs in ${wall.toFixed(1)} s = ${((r.throughput.pairs / wall) * 60).toFixed(0)} runs/min (shared machine)\n`);
  check('word counting: the bigram model does not write the asked number of words (G < 0.1)', (r.tasks.word_count!.generation_correct ?? 1) < 0.1);
  const leak = await runSelfKnowledge(selectTasks('word_count'), new EchoProvider('numbers'), { items: 200, repeats: 1, quiet: true });
  check('leak stub stays far from S = 1 on word counting', (leak.tasks.word_count!.self_consistency ?? 1) < 0.1, `S = ${leak.tasks.word_count!.self_consistency}`);
  const again = await runSelfKnowledge(tasks, provider, { ...opts, quiet: true });
  check('rerun from the cache: no model calls, identical task section', again.throughput.calls === 0 && JSON.stringify(again.tasks) === JSON.stringify(r.tasks), `${again.throughput.calls} calls`);
  await provider.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`llm reference: ${failures ? `${failures} FAILED` : 'all passed'}\n`);
process.exit(failures ? 1 : 0);
