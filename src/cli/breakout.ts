// `perennial breakout ...`: synth, label, eval, export, import-chat, candles, ranges; and the breakout demo section.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard, writeFileAtomic } from '../core/fsx.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { writeReport, SectionBuilder } from '../core/report.js';
import {
  candlesToCsv, compareWindowModels, detectRanges, evaluateWindows, evalSection, footprintSpec, generateFootprintSet, generateOhlcv,
  assertUniqueWindowIds, labelFootprint, loadOhlcvCsv, renderFootprintText, ohlcvBaselines, parseFootprintTextFile, rangesSection, readWindowsJsonl,
  recordFromGenerated, goldFromLabel, importChatJsonl, writeChatExport, writeWindowsJsonl, PIPELINES, RULE_VERSION,
  breakoutDemo, type Aggregation, type EvalSummary, type FootprintSpec, type PipelineName, type RangeOptions, type WindowItem, type WindowModelResult, type WindowRecord,
} from '../breakout/index.js';
import { addProviderOptions, parseModelSpec, providerSettings, ResponseCache, SampleLog, type LlmProvider, type ProviderFlags } from '../llm/index.js';
import { backtest, backtestOptions, backtestSection, readSignalsFile, type Signal } from '../breakout/backtest.js';
import type { AreaCli } from './types.js';
import { parseFloatOption, parseIntOption, parseNumberList } from './util.js';

function aggregationOf(v: string | undefined): Aggregation {
  const a = v ?? 'volume';
  if (a !== 'volume' && a !== 'count') throw new InputError(`--aggregation must be volume or count, got ${JSON.stringify(a)}`);
  return a;
}

function pair(name: string, v: number[] | undefined): readonly [number, number] | undefined {
  if (!v) return undefined;
  if (v.length !== 2) throw new InputError(`--${name} expects two numbers lo,hi`);
  return [v[0], v[1]];
}

/** Windows from a JSONL file (fixture format) or a text file of tables (`.txt`). */
function readWindowsAny(path: string, tick: number | undefined): WindowItem[] {
  let items: WindowItem[];
  if (path.endsWith('.txt')) {
    const ws = parseFootprintTextFile(readFileSync(path, 'utf8'), { file: path, ...(tick ? { tick } : {}) });
    items = ws.map((w, i) => ({ line: i + 1, id: w.id ?? `w${i}`, record: { window: { ...w, id: w.id ?? `w${i}` } } }));
    assertUniqueWindowIds(items, path, 'window');
  } else items = readWindowsJsonl(path);
  // An empty file is a mistake (wrong path, a failed export), not a run over zero windows.
  if (items.length === 0) throw new InputError(`${path}: no windows in the file`);
  return items;
}

interface ModelFlags extends ProviderFlags { model: string[]; evalConcurrency?: number }

function rangeFlags(o: Record<string, unknown>): Partial<RangeOptions> {
  const map: Record<string, keyof RangeOptions> = {
    atr: 'atrPeriod', atrMethod: 'atrMethod', lookback: 'lookback', kappa: 'kappa', touches: 'touches', epsilon: 'epsilon', delta: 'delta',
    volumeFactor: 'volumeFactor', requireVolume: 'requireVolume', horizon: 'horizon', labelMode: 'labelMode', targetAtr: 'targetAtr', holdBars: 'holdBars',
  };
  const out: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(map)) if (o[flag] !== undefined) out[key] = o[flag];
  return out as Partial<RangeOptions>;
}

function register(program: Command): void {
  const bo = program.command('breakout').description('footprint breakout detection (rule labeller, multi-stage LLM pipeline, baselines) and OHLCV trading ranges');

  bo.command('synth')
    .description('generate seeded footprint windows (balanced classes, hard cases) as JSONL with gold labels')
    .option('--n <n>', 'number of windows', parseIntOption('n'), 200)
    .option('--seed <n>', 'generator seed', parseIntOption('seed'), 0)
    .requiredOption('--out <file>', 'output JSONL')
    .option('--tick <t>', 'price step', parseFloatOption('tick'))
    .option('--price <p>', 'central price level', parseFloatOption('price'))
    .option('--band <lo,hi>', 'range band width in ticks', parseNumberList('band'))
    .option('--breakout <lo,hi>', 'ticks beyond the band', parseNumberList('breakout'))
    .option('--range-bars <n>', 'range bars before the breakout bar', parseIntOption('range-bars'))
    .option('--margin <m>', 'imbalance margin of easy windows', parseFloatOption('margin'))
    .option('--near-share <s>', 'share of near-threshold windows', parseFloatOption('near-share'))
    .option('--hard-share <s>', 'share of windows where volume and count rules disagree', parseFloatOption('hard-share'))
    .option('--tie-share <s>', 'share of tied windows (side none)', parseFloatOption('tie-share'))
    .option('--none-share <s>', 'share of windows with no direction', parseFloatOption('none-share'))
    .option('--text <file>', 'also write the windows as text tables')
    .action((o: { n: number; seed: number; out: string; tick?: number; price?: number; band?: number[]; breakout?: number[]; rangeBars?: number; margin?: number; nearShare?: number; hardShare?: number; tieShare?: number; noneShare?: number; text?: string }) => {
      if (o.n < 1) throw new InputError(`--n must be >= 1, got ${o.n}`);
      const spec: Partial<FootprintSpec> = {
        ...(o.tick !== undefined ? { tick: o.tick } : {}), ...(o.price !== undefined ? { basePrice: o.price } : {}),
        ...(o.band ? { bandTicks: pair('band', o.band)! } : {}), ...(o.breakout ? { breakoutTicks: pair('breakout', o.breakout)! } : {}),
        ...(o.rangeBars !== undefined ? { rangeBars: o.rangeBars } : {}), ...(o.margin !== undefined ? { margin: o.margin } : {}),
        ...(o.nearShare !== undefined ? { nearShare: o.nearShare } : {}), ...(o.hardShare !== undefined ? { hardShare: o.hardShare } : {}),
        ...(o.tieShare !== undefined ? { tieShare: o.tieShare } : {}), ...(o.noneShare !== undefined ? { noDirectionShare: o.noneShare } : {}),
      };
      outputGuard().output(o.out, '--out').output(o.text, '--text').check();
      const gen = generateFootprintSet(o.seed, o.n, footprintSpec(spec));
      const recs = gen.map((g) => recordFromGenerated(g));
      writeWindowsJsonl(o.out, recs);
      if (o.text) {
        writeFileAtomic(o.text, recs.map((r) => `# ${r.window.id}\n${renderFootprintText(r.window)}`).join('\n\n') + '\n');
      }
      const kinds: Record<string, number> = {};
      for (const g of gen) kinds[g.kind] = (kinds[g.kind] ?? 0) + 1;
      process.stdout.write(`wrote ${o.n} windows to ${resolve(o.out)} (seed ${o.seed}; ${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')}; ${RULE_VERSION})\n`);
    });

  bo.command('label')
    .description('label windows with the rule labeller (JSONL fixture format, or .txt text tables)')
    .argument('<file>', 'windows: .jsonl, or .txt text tables')
    .option('--aggregation <a>', 'stronger-side aggregation: volume | count', 'volume')
    .option('--tick <t>', 'price step for .txt input', parseFloatOption('tick'))
    .option('--out <file>', 'write labelled JSONL here (default: a summary only)')
    .option('--json <file>', 'write the summary as JSON')
    .action((file: string, o: { aggregation: string; tick?: number; out?: string; json?: string }) => {
      const agg = aggregationOf(o.aggregation);
      outputGuard().input(file, '<file>').output(o.out, '--out').output(o.json, '--json').check();
      const items = readWindowsAny(file, o.tick);
      const rec = new RunRecorder('breakout label', { file, ...o }, null);
      const counts: Record<string, number> = {};
      let agreeStored = 0, withStored = 0, volCountAgree = 0, complete = 0;
      const out: WindowRecord[] = [];
      const malformed: string[] = [];
      for (const it of items) {
        if (!it.record) { malformed.push(it.error); continue; }
        const w = it.record.window;
        const l = labelFootprint(w, { aggregation: agg });
        const other = labelFootprint(w, { aggregation: agg === 'volume' ? 'count' : 'volume' });
        const key = l.verdict === null ? `excluded(${l.direction === 'none' ? 'no direction' : 'tie'})` : `${l.direction}/${l.verdict}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (l.verdict !== null) { complete++; if (other.strongerSide === l.strongerSide) volCountAgree++; }
        const stored = it.record.gold;
        if (stored) { withStored++; if (stored.direction === l.direction && stored.levelTicks === l.levelTicks && stored.side === l.strongerSide && stored.verdict === l.verdict) agreeStored++; }
        out.push({ ...it.record, gold: goldFromLabel(l, w.tick) });
      }
      if (o.out) writeWindowsJsonl(o.out, out);
      const summary = {
        n: items.length, labelled: out.length, malformed: malformed.length, classes: counts, aggregation: agg, rule_version: RULE_VERSION,
        agreement_with_stored_gold: withStored ? agreeStored / withStored : null, n_with_stored_gold: withStored,
        volume_count_side_agreement: complete ? volCountAgree / complete : null, errors: malformed,
      };
      for (const m of malformed) process.stderr.write(`perennial: ${m}\n`);
      process.stdout.write(`${summary.labelled}/${summary.n} windows labelled (${agg}); ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}; ${summary.malformed} malformed\n`);
      if (withStored) process.stdout.write(`agreement with stored gold: ${agreeStored}/${withStored}\n`);
      if (o.json) writeRecord(o.json, rec.finish(summary));
      if (malformed.length) process.exitCode = 1;
    });

  const evalCmd = bo.command('eval')
    .description('evaluate a pipeline (multi | single | rules | learned) on labelled windows; resumes from its cache')
    .requiredOption('--data <file>', 'windows: JSONL (from breakout synth) or .txt text tables')
    .option('--pipeline <p>', `one of ${PIPELINES.join(', ')}`, 'multi')
    .option('--model <spec>', 'gguf:PATH | openai:BASE_URL#MODEL (multi and single; repeat to compare several models on the same windows)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json <file>', 'write the result record here')
    .option('--html <file>', 'write an HTML report here')
    .option('--cache <file>', 'completion cache (default: <json>.cache.jsonl when --json is given)')
    .option('--aggregation <a>', 'stronger-side aggregation for gold: volume | count', 'volume')
    .option('--limit <n>', 'evaluate the first n lines only', parseIntOption('limit'))
    .option('--max-tokens <n>', 'max tokens per stage answer (default 400)', parseIntOption('max-tokens'))
    .option('--reason-max-chars <n>', 'cap on the "reason" string in the answer schema (default 600)', parseIntOption('reason-max-chars'))
    .option('--temperature <t>', 'sampling temperature (default 0)', parseFloatOption('temperature'))
    .option('--repeats <k>', 'LLM pipelines: run k times with request seeds 0..k-1 and report pass^k / pass@k', parseIntOption('repeats'))
    .option('--seeds <n>', 'learned: training seeds', parseIntOption('seeds'), 5)
    .option('--train-n <n>', 'learned: training windows per seed', parseIntOption('train-n'), 2000)
    .option('--train-seed <n>', 'learned: first training seed (disjoint from the data seeds)', parseIntOption('train-seed'), 1_000_000)
    .option('--eval-concurrency <n>', 'windows evaluated at once (raise for HTTP servers)', parseIntOption('eval-concurrency'), 1)
    .option('--samples <file>', 'JSONL log, one line per window and repeat (stage messages, raw answers, parsed answers, per-stage verdicts, latency, tokens, cache hit, error kind); resumable');
  addProviderOptions(evalCmd, parseIntOption);
  evalCmd.action(async (o: ModelFlags & { data: string; pipeline: string; json?: string; html?: string; cache?: string; aggregation: string; limit?: number; maxTokens?: number; reasonMaxChars?: number; temperature?: number; repeats?: number; seeds: number; trainN: number; trainSeed: number; samples?: string }) => {
    if (!PIPELINES.includes(o.pipeline as PipelineName)) throw new InputError(`--pipeline must be one of ${PIPELINES.join(', ')}, got ${JSON.stringify(o.pipeline)}`);
    const pipeline = o.pipeline as PipelineName;
    const needsModel = pipeline === 'multi' || pipeline === 'single';
    if (needsModel && o.model.length === 0) throw new InputError(`--pipeline ${pipeline} needs --model gguf:PATH or openai:BASE_URL#MODEL`);
    if (!needsModel && o.model.length > 0) throw new InputError(`--pipeline ${pipeline} uses no model; drop --model`);
    const dupModel = o.model.find((m, i) => o.model.indexOf(m) !== i);
    if (dupModel) throw new InputError(`--model ${dupModel} is given twice`);
    if (!existsSync(o.data)) throw new InputError(`no such file: ${o.data}`);
    let items = readWindowsAny(o.data, undefined);
    if (o.limit !== undefined) {
      if (o.limit < 1) throw new InputError(`--limit must be >= 1, got ${o.limit}`);
      items = items.slice(0, o.limit);
    }
    const cachePath = o.cache ?? (o.json ? `${o.json}.cache.jsonl` : null);
    const guard = outputGuard().input(o.data, '--data');
    for (const m of o.model) guard.input(m.startsWith('gguf:') ? m.slice(5) : undefined, '--model');
    guard.cache(cachePath, o.cache ? '--cache' : 'the cache beside --json').cache(o.samples, '--samples').output(o.json, '--json').output(o.html, '--html').check();
    const samples = o.samples ? new SampleLog(o.samples) : null;
    const rec = new RunRecorder('breakout eval', { ...o, cache: cachePath }, pipeline === 'learned' ? o.trainSeed : null);
    const results: WindowModelResult[] = [];
    // One cache and one samples log for every model: their keys name the model.
    const cache = new ResponseCache(cachePath);
    try {
      for (const spec of needsModel ? o.model : [null]) {
        const provider: LlmProvider | undefined = spec ? parseModelSpec(spec, providerSettings(o)) : undefined;
        try {
          const r = await rec.time(spec ? `evaluate ${spec}` : 'evaluate', () => evaluateWindows(items, pipeline, {
            ...(provider ? { provider } : {}), cache, concurrency: o.evalConcurrency ?? 1, samples, aggregation: aggregationOf(o.aggregation),
            seeds: o.seeds, trainN: o.trainN, trainSeed: o.trainSeed, ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}),
            ...(o.reasonMaxChars ? { reasonMaxLength: o.reasonMaxChars } : {}), ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
            ...(o.repeats !== undefined ? { repeats: o.repeats } : {}),
          }));
          results.push({ model: provider?.id() ?? pipeline, summary: r.summary, outcomes: r.outcomes });
        } finally {
          await provider?.close?.();
        }
      }
    } finally {
      cache.close();
      samples?.close();
    }
    for (const { summary } of results) printSummary(summary);
    const comparison = results.length > 1 ? compareWindowModels(results) : null;
    if (comparison) {
      for (const p of comparison.paired.filter((x) => x.metric === 'verdict')) {
        process.stdout.write(`${p.model} - ${p.baseline}: verdict ${p.mean === null ? 'n/a' : p.mean.toFixed(3)} ${p.ci95 ? `[${p.ci95[0].toFixed(3)}, ${p.ci95[1].toFixed(3)}]` : ''} over ${p.n} windows\n`);
      }
    }
    const summaries = results.map((r) => r.summary);
    if (o.json) writeRecord(o.json, rec.finish(comparison ? { models: summaries, comparison } : summaries[0]));
    if (o.html) {
      const sections = [evalSection(`${pipeline} on ${o.data}`, summaries)];
      if (comparison) {
        const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
        sections.push(new SectionBuilder('Models compared on the same windows')
          .table(['metric', 'model', 'vs', 'windows', 'difference', '95 % interval', 'wins / losses / ties'],
            comparison.paired.map((p) => [p.metric, p.model, p.baseline, p.n, f(p.mean), p.ci95 ? `[${f(p.ci95[0])}, ${f(p.ci95[1])}]` : (p.reason ?? ''), `${p.wins} / ${p.losses} / ${p.ties}`]),
            'Paired differences (per window; interval: windows resampled, 2000 bootstrap draws)').build());
      }
      await writeReport(o.html, 'perennial breakout eval', sections);
    }
    // Nothing succeeded: the record says why, and the exit status must not say "done".
    for (const { summary } of results) {
      if (summary.n > 0 && summary.n_answered === 0) {
        process.stderr.write(`perennial: breakout eval${summary.model ? ` (${summary.model})` : ''}: ${summary.reasons?.verdict_acc ?? 'every scored window errored'}\n`);
        process.exitCode = 1;
      }
    }
  });

  bo.command('export')
    .description('write chat-format fine-tuning JSONL (multi-stage, report, single-stage) from labelled windows')
    .requiredOption('--data <file>', 'windows JSONL')
    .requiredOption('--out-dir <dir>', 'output folder')
    .option('--train-fraction <f>', 'share of windows in train', parseFloatOption('train-fraction'), 0.8)
    .option('--split-seed <n>', 'split hash seed', parseIntOption('split-seed'), 0)
    .option('--aggregation <a>', 'volume | count', 'volume')
    .action((o: { data: string; outDir: string; trainFraction: number; splitSeed: number; aggregation: string }) => {
      // The files writeChatExport writes: <multi|report|single>.<train|test>.jsonl and meta.json.
      const g = outputGuard().input(o.data, '--data').outputFolder(o.outDir, '--out-dir').output(join(o.outDir, 'meta.json'), '--out-dir');
      for (const m of ['multi', 'report', 'single']) for (const s of ['train', 'test']) g.output(join(o.outDir, `${m}.${s}.jsonl`), '--out-dir');
      g.check();
      const items = readWindowsAny(o.data, undefined);
      const bad = items.filter((i) => !i.record);
      for (const b of bad) process.stderr.write(`perennial: skipping ${b.error}\n`);
      const r = writeChatExport(o.outDir, items.filter((i) => i.record).map((i) => i.record!), { trainFraction: o.trainFraction, splitSeed: o.splitSeed, aggregation: aggregationOf(o.aggregation) });
      process.stdout.write(`wrote ${r.files.length} files to ${resolve(o.outDir)}: ${Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ')}; skipped ${r.skipped} excluded and ${bad.length} malformed windows\n`);
      if (bad.length) process.exitCode = 1;
    });

  bo.command('import-chat')
    .description('read chat-format fine-tuning JSONL (the BreakGPT repository\'s files, or breakout export\'s) into windows; reports the lines it cannot use')
    .argument('<file>', 'chat JSONL: one {"messages": [system, user, assistant]} object per line')
    .requiredOption('--out <file>', 'output windows JSONL (the fixture format label and eval read)')
    .option('--json <file>', 'write the import record (counts, skipped lines with reasons, upstream agreement with the rules) here')
    .option('--tick <t>', 'price step (default: the step the prompt states, else 0.25)', parseFloatOption('tick'))
    .option('--id-prefix <s>', 'window ids are <prefix>-L<line> (default: the file name without extension)')
    .action((file: string, o: { out: string; json?: string; tick?: number; idPrefix?: string }) => {
      outputGuard().input(file, '<file>').output(o.out, '--out').output(o.json, '--json').check();
      if (!existsSync(file)) throw new InputError(`no such file: ${file}`);
      const rec = new RunRecorder('breakout import-chat', { file, ...o }, null);
      const r = importChatJsonl(readFileSync(file, 'utf8'), file, { ...(o.tick !== undefined ? { tick: o.tick } : {}), ...(o.idPrefix !== undefined ? { idPrefix: o.idPrefix } : {}) });
      writeWindowsJsonl(o.out, r.records);
      const a = r.agreement;
      const frac = (x: { agree: number; n: number }): number | null => (x.n ? x.agree / x.n : null);
      process.stdout.write(`wrote ${r.records.length} window${r.records.length === 1 ? '' : 's'} to ${resolve(o.out)} from ${r.lines} lines (${r.merged} merged into an earlier window with the same tables, ${r.skipped.length} not used)\n`);
      if (a.verdict.n) process.stdout.write(`upstream verdict agrees with the rules on ${a.verdict.agree}/${a.verdict.n} windows\n`);
      if (o.json) {
        writeRecord(o.json, rec.finish({
          lines: r.lines, windows: r.records.length, merged: r.merged, skipped: r.skipped, rule_version: RULE_VERSION,
          upstream_agreement: { verdict: frac(a.verdict), direction: frac(a.direction), level: frac(a.level), n: { verdict: a.verdict.n, direction: a.direction.n, level: a.level.n } },
        }));
      }
    });

  bo.command('candles')
    .description('generate seeded synthetic OHLCV candles (trend -> range -> breakout -> follow-through or failure) as CSV')
    .option('--n <n>', 'candles', parseIntOption('n'), 5000)
    .option('--seed <n>', 'seed', parseIntOption('seed'), 0)
    .option('--true-share <s>', 'share of planted breakouts that follow through', parseFloatOption('true-share'))
    .requiredOption('--out <file>', 'output CSV')
    .option('--planted <file>', 'also write the planted breakouts (intended labels) as JSON')
    .action((o: { n: number; seed: number; trueShare?: number; out: string; planted?: string }) => {
      outputGuard().output(o.out, '--out').output(o.planted, '--planted').check();
      const { candles, planted } = generateOhlcv(o.seed, { n: o.n, ...(o.trueShare !== undefined ? { trueShare: o.trueShare } : {}) });
      writeFileAtomic(o.out, candlesToCsv(candles));
      if (o.planted) writeFileAtomic(o.planted, JSON.stringify(planted) + '\n');
      process.stdout.write(`wrote ${candles.n} candles to ${resolve(o.out)} with ${planted.length} planted breakouts\n`);
    });

  bo.command('ranges')
    .description('detect trading ranges and breakouts in OHLCV candles, label them by follow-through')
    .requiredOption('--csv <file>', 'OHLCV CSV (date/time, open, high, low, close, volume; common column names)')
    .option('--json <file>', 'write the result record here')
    .option('--html <file>', 'write an HTML report with a candlestick chart')
    .option('--atr <n>', 'ATR period (default 14)', parseIntOption('atr'))
    .option('--atr-method <m>', 'wilder | sma')
    .option('--lookback <n>', 'range lookback W in bars (default 20)', parseIntOption('lookback'))
    .option('--kappa <k>', 'max span in ATRs (default 3)', parseFloatOption('kappa'))
    .option('--touches <n>', 'touches per boundary (default 2)', parseIntOption('touches'))
    .option('--epsilon <e>', 'touch tolerance in ATRs (default 0.25)', parseFloatOption('epsilon'))
    .option('--delta <d>', 'breakout close beyond the level in ATRs (default 0.1)', parseFloatOption('delta'))
    .option('--volume-factor <v>', 'volume confirmation factor (default 1.5)', parseFloatOption('volume-factor'))
    .option('--require-volume', 'keep only volume-confirmed breakouts')
    .option('--horizon <n>', 'follow-through horizon H (default 5)', parseIntOption('horizon'))
    .option('--label-mode <m>', 'target | hold')
    .option('--target-atr <m>', 'target distance in ATRs (default 1)', parseFloatOption('target-atr'))
    .option('--hold-bars <k>', 'hold mode: closes beyond the level needed (default 3)', parseIntOption('hold-bars'))
    .option('--max-events <n>', 'events listed in the JSON (default 100000)', parseIntOption('max-events'), 100000)
    .action(async (o: Record<string, unknown> & { csv: string; json?: string; html?: string; maxEvents: number }) => {
      outputGuard().input(o.csv, '--csv').output(o.json, '--json').output(o.html, '--html').check();
      const opts = rangeFlags(o);
      const rec = new RunRecorder('breakout ranges', { ...o }, null);
      const candles = await rec.time('load', () => loadOhlcvCsv(o.csv));
      const r = await rec.time('detect', () => detectRanges(candles, opts));
      const base = ohlcvBaselines(candles, r);
      const count = (l: string): number => r.events.filter((e) => e.label === l).length;
      const summary = {
        n_candles: candles.n, has_volume: candles.hasVolume, ranges: r.ranges.length, breakouts: r.events.length,
        labels: { true: count('true'), false: count('false'), undetermined: count('undetermined') },
        baselines: base, options: r.options,
        events: r.events.slice(0, o.maxEvents).map((e) => ({ ...e, time: new Date(candles.time[e.index]).toISOString() })),
      };
      process.stdout.write(`${candles.n} candles: ${r.ranges.length} ranges, ${r.events.length} breakouts (true ${summary.labels.true}, false ${summary.labels.false}, undetermined ${summary.labels.undetermined})\n`);
      if (o.json) writeRecord(o.json, rec.finish(summary));
      if (o.html) await writeReport(o.html, 'perennial breakout ranges', [rangesSection(`ranges in ${o.csv}`, candles, r, base)]);
    });

  bo.command('backtest')
    .description('trade breakout signals: enter at the next open (long up, short down), exit at the close --hold bars later, with slippage and commission')
    .requiredOption('--csv <file>', 'OHLCV CSV')
    .option('--signals <s>', 'ranges (every detected breakout) | rules (breakouts the volume rule calls true) | FILE (.json or .csv with index/time and direction)', 'ranges')
    .option('--hold <n>', 'bars from entry to exit (default 5)', parseIntOption('hold'), 5)
    .option('--commission <c>', 'commission per side, as a fraction (default 0)', parseFloatOption('commission'), 0)
    .option('--slippage <s>', 'slippage per fill, as a fraction of the price (default 0)', parseFloatOption('slippage'), 0)
    .option('--long-only', 'skip downward (short) signals')
    .option('--json <file>', 'write the result record here')
    .option('--html <file>', 'write an HTML report with the equity curve')
    .option('--atr <n>', 'ranges/rules: ATR period', parseIntOption('atr'))
    .option('--lookback <n>', 'ranges/rules: range lookback W in bars', parseIntOption('lookback'))
    .option('--kappa <k>', 'ranges/rules: max span in ATRs', parseFloatOption('kappa'))
    .option('--delta <d>', 'ranges/rules: breakout close beyond the level in ATRs', parseFloatOption('delta'))
    .option('--volume-factor <v>', 'rules: volume confirmation factor', parseFloatOption('volume-factor'))
    .action(async (o: Record<string, unknown> & { csv: string; signals: string; hold: number; commission: number; slippage: number; longOnly?: boolean; json?: string; html?: string }) => {
      const fromFile = o.signals !== 'ranges' && o.signals !== 'rules';
      outputGuard().input(o.csv, '--csv').input(fromFile ? o.signals : null, '--signals').output(o.json, '--json').output(o.html, '--html').check();
      const opts = backtestOptions({ hold: o.hold, commission: o.commission, slippage: o.slippage, longOnly: o.longOnly === true });
      const rec = new RunRecorder('breakout backtest', { ...o }, null);
      const candles = await rec.time('load', () => loadOhlcvCsv(o.csv));
      let signals: Signal[];
      if (fromFile) signals = readSignalsFile(o.signals, candles);
      else {
        const r = await rec.time('detect', () => detectRanges(candles, rangeFlags(o)));
        if (o.signals === 'rules' && !candles.hasVolume) throw new InputError(`--signals rules needs a volume column in ${o.csv} (the volume rule confirms breakouts by volume)`);
        signals = r.events.filter((e) => o.signals === 'ranges' || e.volumeConfirmed === true).map((e) => ({ index: e.index, direction: e.direction }));
      }
      const r = await rec.time('backtest', () => backtest(candles, signals, opts));
      const p = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
      process.stdout.write(`${r.n_signals} signals, ${r.n_trades} trades (skipped: ${r.skipped.overlap} overlap, ${r.skipped.past_end} past end, ${r.skipped.short_long_only} short): total return ${p(r.total_return)}, hit rate ${p(r.hit_rate)}, profit factor ${p(r.profit_factor)}, max drawdown ${p(r.max_drawdown)}, sharpe/trade ${p(r.sharpe)}; buy and hold ${p(r.buy_and_hold?.return ?? null)}\n`);
      if (o.json) writeRecord(o.json, rec.finish({ ...r, signals: o.signals, n_candles: candles.n }));
      if (o.html) await writeReport(o.html, 'perennial breakout backtest', [backtestSection(`backtest of ${o.signals} signals on ${o.csv}`, candles, r)]);
    });
}

function printSummary(s: EvalSummary): void {
  const p = (x: number | null): string => (x === null ? '—' : x.toFixed(3));
  process.stdout.write(`${s.pipeline}: n ${s.n}, stage acc direction ${p(s.stage_acc.direction)} level ${p(s.stage_acc.level)} side ${p(s.stage_acc.side)}, verdict acc ${p(s.verdict_acc)}`
    + `${s.learned ? ` ± ${s.learned.verdict_acc_std.toFixed(3)} over ${s.learned.seeds.length} seeds` : ''}, rationale consistency ${p(s.rationale_consistency)}, windows with errors ${s.errors}, excluded ${s.excluded}\n`);
  if (s.reasons?.verdict_acc) process.stdout.write(`rates are n/a: ${s.reasons.verdict_acc}\n`);
}

export const breakoutCli: AreaCli = { name: 'breakout', register, demo: breakoutDemo };
