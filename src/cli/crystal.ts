// `perennial crystal sf|assign|hydrogens|validate|eval` and the crystal demo section.
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { outputGuard, writeFileAtomic, writeJsonAtomic, type OutputGuard } from '../core/fsx.js';
import { progress } from '../core/progress.js';
import { RunRecorder, writeRecord } from '../core/record.js';
import { SectionBuilder, writeReport, type Section } from '../core/report.js';
import { rng } from '../core/rng.js';
import * as X from '../crystal/index.js';
import type { AreaCli, DemoContext, DemoResult } from './types.js';
import { parseStringList } from './util.js';

interface RadiationOpts { wavelength?: number; dispersion: X.DispersionMode }

/** --wavelength and --dispersion, shared by sf, assign and validate. */
function radiationOptions(c: Command): Command {
  return c.option('--wavelength <angstrom>', "wavelength in Å, replacing the file's (default: the file's; a CIF without one: Mo Kα 0.71073 Å, with a warning)", X.parseWavelengthOption)
    .option('--dispersion <mode>', `${X.DISPERSION_MODES.join(' | ')}: auto adds f' and f'' (ITC at Mo/Cu Kα, Henke interpolated at any wavelength 0.413-3.54 Å; outside: f0 only, with a warning); none uses f0 only (IT92 form factors)`, X.parseDispersionMode, 'auto');
}

/**
 * The guard with a structure's files registered as inputs: the file itself and, for a .res/.ins,
 * the reflections it is read with (--hkl, else the .hkl found beside it).
 */
function structureInputs(opt: string, file: string, hkl: string | undefined): OutputGuard {
  const g = outputGuard().input(file, opt).input(hkl, '--hkl');
  if (!hkl && /\.(res|ins)$/i.test(file)) g.input(file.replace(/\.(res|ins)$/i, '.hkl'), `the .hkl beside ${opt}`);
  return g;
}

const STRUCTURE_FILES = /\.(cif|res|ins|hkl)$/i;

async function report(path: string | undefined, title: string, sections: Section[]): Promise<void> {
  if (path) { await writeReport(path, title, sections); process.stdout.write(`report: ${path}\n`); }
}

function register(program: Command): void {
  const cmd = program.command('crystal').description('crystal structures: structure factors, R factors, element assignment, hydrogens, validation');

  cmd.command('example').description('write the built-in example structure (made up, simulated data) as <name>.cif (res+hkl embedded), <name>.res and <name>.hkl')
    .requiredOption('--out <dir>', 'folder to write into (created when missing)')
    .option('--variants <n>', `how many structures (1-${X.MAX_EXAMPLE_VARIANTS}: chloro-, bromo-, fluorobenzamide; crystal eval needs 3)`, '1')
    .option('--seed <n>', 'seed of the simulated noise', '0')
    .action((o: { out: string; variants: string; seed: string }) => {
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new InputError(`--seed must be an integer, got ${o.seed}`);
      for (const p of X.writeExampleFiles(o.out, { variants: Number(o.variants), seed })) process.stdout.write(`${p}\n`);
    });

  radiationOptions(cmd.command('sf').description('Fc and R1/wR2/GooF for a CIF with embedded res+hkl (or --hkl)')
    .requiredOption('--cif <file>', 'CIF (SHELXL, with _shelx_res_file/_shelx_hkl_file) or .res/.ins')
    .option('--hkl <file>', 'HKLF 4 file (when not embedded)')
    .option('--block <name>', 'CIF data block (default: the first with a model and reflections)')
    .option('--lenient', 'read a malformed CIF leniently (unterminated quotes closed at line end)'))
    .option('--json <file>', 'output JSON').option('--html <file>', 'HTML report')
    .action(async (o: { cif: string; hkl?: string; block?: string; lenient?: boolean; json?: string; html?: string } & RadiationOpts) => {
      structureInputs('--cif', o.cif, o.hkl).output(o.json, '--json').output(o.html, '--html').check();
      const rec = new RunRecorder('crystal sf', o, null);
      const p = progress('crystal sf', 1);
      const { case: c, radiation: rad, evaluation: ev, metrics } = await X.structureFactorRun(o.cif, { hkl: o.hkl, block: o.block, strict: !o.lenient, wavelength: o.wavelength, dispersion: o.dispersion }, (phase, fn) => rec.time(phase, fn));
      p.tick(); p.done();
      process.stdout.write(`${c.name}: ${ev.n} unique reflections, R1 ${X.fmt(metrics.r1, 4)} (${ev.nGt} Fo>4sig), R1(all) ${X.fmt(metrics.r1_all, 4)}, wR2 ${X.fmt(metrics.wr2, 4)}, GooF ${X.fmt(metrics.goof, 3)}` +
        (c.published.r1 !== null ? `; published R1 ${c.published.r1}, wR2 ${c.published.wr2}` : '') + `; ${rad.wavelength} Å (${rad.wavelength_source}), dispersion ${rad.anomalous ? `f', f'' (${rad.line ? `${rad.line} Kα, ITC + Henke` : 'Henke'})` : 'none (f0 only)'}\n`);
      for (const [k, why] of Object.entries(metrics.reasons ?? {})) process.stdout.write(`  ${k}: n/a (${why})\n`);
      if (o.json) writeRecord(o.json, rec.finish(metrics));
      await report(o.html, `crystal sf: ${c.name}`, [new SectionBuilder(`${c.name}: agreement`).table(['', 'ours', 'published'], [['R1', metrics.r1, c.published.r1], ['wR2', metrics.wr2, c.published.wr2], ['GooF', metrics.goof, c.published.goof]]).html(X.structureView(c.structure)).build()]);
    });

  radiationOptions(cmd.command('assign').description('assign elements to the atoms/peaks of a .res, or of every .res in a folder (heavy stage)')
    .option('--res <file>', 'SHELXT-like .res (peaks labelled, SFAC/UNIT)')
    .option('--data <dir>', 'folder of .res/.ins files with their .hkl beside them: all assigned in one run, one record (needs --out-dir)'))
    .option('--out <file>', 'output .ins with relabelled atoms (with --res)')
    .option('--out-dir <dir>', 'folder for the <name>_AI.ins files (with --data)')
    .option('--hkl <file>', 'HKLF 4 for peak heights (default: beside the .res)')
    .option('--model <file>', 'a model from crystal train (default: the shipped model)')
    .option('--baseline', 'the height-rank baseline instead of a model')
    .option('--train <dir>', 'folder of structures to train the per-peak classifier on instead of a model')
    .option('--decoder <d>', `${X.DECODERS.join(' | ')}: near-counts lets an element exceed its formula count by a quarter at odds of 10:1`, 'near-counts')
    .option('--json <file>', 'per-atom top-5 probabilities and the run record')
    .action(async (o: { res?: string; data?: string; out?: string; outDir?: string; hkl?: string; model?: string; baseline?: boolean; train?: string; decoder: string; json?: string } & RadiationOpts) => {
      if (!(X.DECODERS as readonly string[]).includes(o.decoder)) throw new InputError(`--decoder must be one of ${X.DECODERS.join(', ')}, got ${o.decoder}`);
      (o.res ? structureInputs('--res', o.res, o.hkl) : outputGuard().input(o.hkl, '--hkl')).inputFolder(o.data, '--data', STRUCTURE_FILES).input(o.model, '--model').inputFolder(o.train, '--train', STRUCTURE_FILES)
        .output(o.out, '--out').outputFolder(o.outDir, '--out-dir').output(o.json, '--json').check();
      if (!!o.res === !!o.data) throw new InputError('give exactly one of --res FILE or --data DIR');
      if ([o.model, o.baseline, o.train].filter(Boolean).length > 1) throw new InputError('--model, --baseline and --train exclude each other');
      const choice = { model: o.model, baseline: o.baseline, train: o.train, decoder: o.decoder as X.Decoder, wavelength: o.wavelength, dispersion: o.dispersion };
      if (o.data) {
        if (!o.outDir) throw new InputError('--data needs --out-dir DIR for the assigned .ins files');
        if (o.out || o.hkl) throw new InputError('--out and --hkl go with --res; with --data use --out-dir (each .hkl is read from beside its .res)');
        const rec = new RunRecorder('crystal assign', o, 0);
        const outName = (f: string) => join(o.outDir!, basename(f).replace(/\.(res|ins)$/i, '') + '_AI.ins');
        const n = X.structureFilesIn(o.data).files.length;
        const p = progress('crystal assign', n);
        const r = await rec.time('assign', () => X.assignBatchRun(o.data!, { ...choice, outName, onFile: () => p.tick() }));
        p.done();
        mkdirSync(o.outDir, { recursive: true });
        for (const f of r.files) writeFileAtomic(f.out, f.ins);
        process.stdout.write(`${o.outDir}: ${r.files.length} of ${r.files.length + r.failures.length} structures assigned (${r.files[0]?.method ?? 'none'}), ${r.files.reduce((t, f) => t + f.changed, 0)} atoms relabelled${r.failures.length ? `; ${r.failures.length} failed: ${r.failures.map((x) => basename(x.file)).join(', ')}` : ''}\n`);
        if (o.json) writeRecord(o.json, rec.finish({ structures: r.files.length, failed: r.failures.length, files: r.files.map((f) => ({ file: f.file, out: f.out, method: f.method, atoms: f.atoms, changed: f.changed, ...f.metrics })), failures: r.failures }));
        if (r.failures.length) process.exitCode = 1;
        return;
      }
      if (!o.out) throw new InputError('--res needs --out FILE for the assigned .ins');
      if (o.outDir) throw new InputError('--out-dir goes with --data');
      const rec = new RunRecorder('crystal assign', o, 0);
      const r = X.assignRun(o.res!, { ...choice, hkl: o.hkl });
      writeFileAtomic(o.out, r.ins);
      process.stdout.write(`${o.out}: ${(r.metrics.atoms as unknown[]).length} atoms assigned (${r.method}), ${r.changed} relabelled\n`);
      if (o.json) writeRecord(o.json, rec.finish(r.metrics));
    });

  cmd.command('hydrogens').description('predict H counts per heavy atom and write HFIX instructions (hydro stage)')
    .requiredOption('--res <file>', 'refined .res').requiredOption('--out <file>', 'output .ins with HFIX')
    .option('--hkl <file>', 'HKLF 4 to report R1 with and without the riding H (default: beside the .res when present)')
    .option('--model <file>', 'a model from crystal train (default: the shipped model)')
    .option('--rule', 'the valence rule instead of a model')
    .option('--train <dir>', 'folder of structures to train the H-count classifier on instead of a model')
    .option('--json <file>', 'per-atom counts (with the model: probabilities of 0-3 H) and the run record')
    .action(async (o: { res: string; out: string; hkl?: string; model?: string; rule?: boolean; train?: string; json?: string }) => {
      structureInputs('--res', o.res, o.hkl).input(o.model, '--model').inputFolder(o.train, '--train', STRUCTURE_FILES).output(o.out, '--out').output(o.json, '--json').check();
      if ([o.model, o.rule, o.train].filter(Boolean).length > 1) throw new InputError('--model, --rule and --train exclude each other');
      const rec = new RunRecorder('crystal hydrogens', o, null);
      const r = X.hydrogensRun(o.res, { hkl: o.hkl, train: o.train, model: o.model, rule: o.rule });
      writeFileAtomic(o.out, r.ins);
      process.stdout.write(`${o.out}: ${r.riding.length} riding H on ${r.atoms.filter((a) => a.hfix !== null).length} atoms (${r.method})\n`);
      if (r.r1) process.stdout.write(`  R1: with the model's H ${r.r1.model_h.toFixed(4)}, without H ${r.r1.no_h.toFixed(4)}, with generated riding H ${r.r1.riding_h.toFixed(4)}\n`);
      if (o.json) writeRecord(o.json, rec.finish({ method: r.method, atoms: r.atoms, riding_h: r.riding.map((h) => ({ label: h.label, frac: h.frac, uiso: h.uiso })), r1: r.r1 }));
    });

  cmd.command('train').description('train the element and H-count model on a corpus (npm run crystal-corpus) and write it as a model file')
    .requiredOption('--corpus <dir>', 'corpus folder (.res + .hkl, manifest.json with the split by molecule)')
    .requiredOption('--out <file>', 'model file (JSON) for --model')
    .option('--seed <n>', 'seed (peak draws, tree subsampling)', '0')
    .option('--rounds <n>', 'boosting rounds of the element model (H-count model: two thirds)', '150')
    .option('--draws <n>', 'simulated peak sets per training structure', '2')
    .option('--context', 'also fit a second pass over the first pass\'s probabilities around each peak (out-of-fold, two folds by structure)')
    .option('--json <file>', 'the run record (model card and held-out metrics)')
    .action(async (o: { corpus: string; out: string; seed: string; rounds: string; draws: string; context?: boolean; json?: string }) => {
      const seed = Number(o.seed), rounds = Number(o.rounds), draws = Number(o.draws);
      if (!Number.isInteger(seed)) throw new InputError(`--seed must be an integer, got ${o.seed}`);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > X.MAX_BOOST_ROUNDS) throw new InputError(`--rounds must be an integer 1-${X.MAX_BOOST_ROUNDS}, got ${o.rounds}`);
      if (!Number.isInteger(draws) || draws < 1 || draws > 20) throw new InputError(`--draws must be an integer 1-20, got ${o.draws}`);
      outputGuard().inputFolder(o.corpus, '--corpus', STRUCTURE_FILES).output(o.out, '--out').output(o.json, '--json').check();
      const rec = new RunRecorder('crystal train', o, seed);
      const r = await X.trainRun(o.corpus, { seed, draws, context: o.context ?? false, element: { rounds }, hcount: { rounds: Math.max(1, Math.round((2 * rounds) / 3)) } }, (phase, fn) => rec.time(phase, fn));
      writeFileAtomic(o.out, JSON.stringify(r.model) + '\n');
      const m = r.model.card.metrics as Record<string, number | null>;
      process.stdout.write(`${o.out}: trained on ${r.trainCases} structures` + (r.heldout ? `; held out ${r.heldout.structures.length}: heavy-atom accuracy ${X.fmt(m.heldout_heavy_acc, 3)} (height-rank baseline ${X.fmt(m.heldout_baseline_heavy_acc, 3)}), H count ${X.fmt(m.heldout_h_count_acc, 3)} (valence rule ${X.fmt(m.heldout_valence_rule_h_count_acc, 3)})` : '') + '\n');
      if (o.json) writeRecord(o.json, rec.finish({ card: r.model.card as unknown as Record<string, unknown> }));
    });

  radiationOptions(cmd.command('validate').description('R1-swap test (flag atoms whose plausible alternative element fits better) and geometry alerts A/B/C')
    .requiredOption('--cif <file>', 'CIF with embedded res+hkl (or .res with .hkl beside it)')
    .option('--hkl <file>', 'HKLF 4 file').option('--block <name>', 'CIF data block (default: the first with a model and reflections)'))
    .option('--alpha <p>', 'family-wise false-alarm probability per structure (Bonferroni over all comparisons)', '0.05')
    .option('--json <file>', 'output JSON').option('--html <file>', 'HTML report')
    .action(async (o: { cif: string; hkl?: string; block?: string; alpha: string; json?: string; html?: string } & RadiationOpts) => {
      structureInputs('--cif', o.cif, o.hkl).output(o.json, '--json').output(o.html, '--html').check();
      const rec = new RunRecorder('crystal validate', o, null);
      const alpha = Number(o.alpha);
      if (!(alpha > 0 && alpha < 1)) throw new InputError(`--alpha must be a probability between 0 and 1 (exclusive), got ${JSON.stringify(o.alpha)}`);
      let p: ReturnType<typeof progress> | undefined;
      const { case: c, report: r, alerts, metrics } = await X.validationRun(o.cif, { hkl: o.hkl, block: o.block, wavelength: o.wavelength, alpha, dispersion: o.dispersion, onStart: (n) => { p = progress('crystal validate', n); }, onStep: () => p?.tick() }, (phase, fn) => rec.time(phase, fn));
      p?.done();
      const flagged = r.atoms.filter((a) => a.flagged);
      process.stdout.write(`${c.name}: R1 ${X.fmt(r.r1, 4)}; ${flagged.length} of ${r.atoms.length} atoms flagged${flagged.length ? ': ' + flagged.map((a) => `${a.label}->${a.best_alternative}`).join(', ') : ''}\n`);
      const n = X.alertCounts(alerts);
      process.stdout.write(`alerts: ${n.A} A, ${n.B} B, ${n.C} C\n${alerts.map((a) => `  ${a.line}\n`).join('')}`);
      if (o.json) writeRecord(o.json, rec.finish(metrics));
      await report(o.html, `crystal validate: ${c.name}`, [X.validationSection(c, r), X.alertsSection(c, alerts)]);
    });

  cmd.command('swaps').description('light-atom swaps: every C/N/O site of a folder swapped to the other two, one at a time; recall and false alarms by leave-one-structure-out')
    .requiredOption('--data <dir>', 'folder with SHELXL CIFs (embedded res+hkl) and/or .res+.hkl pairs (at least 3 structures)')
    .option('--target-false-alarms <p>', "false-alarm rate on the training structures' correct atoms that sets each fold's threshold", '0.04')
    .option('--dispersion <mode>', `${X.DISPERSION_MODES.join(' | ')}: f' and f'' (auto) or f0 only (none)`, X.parseDispersionMode, 'auto')
    .option('--json <file>', 'output JSON').option('--html <file>', 'HTML report')
    .action(async (o: { data: string; targetFalseAlarms: string; dispersion: X.DispersionMode; json?: string; html?: string }) => {
      const target = Number(o.targetFalseAlarms);
      if (!(target > 0 && target < 0.5)) throw new InputError(`--target-false-alarms must be a rate between 0 and 0.5 (exclusive), got ${JSON.stringify(o.targetFalseAlarms)}`);
      outputGuard().inputFolder(o.data, '--data', STRUCTURE_FILES).output(o.json, '--json').output(o.html, '--html').check();
      const rec = new RunRecorder('crystal swaps', o, null);
      let p: ReturnType<typeof progress> | undefined;
      const r = await X.lightSwapRun(o.data, { targetFalseAlarms: target, dispersion: o.dispersion, onStart: (n) => { p = progress('crystal swaps', n); }, onStep: () => p?.tick() }, (phase, fn) => rec.time(phase, fn));
      p?.done();
      process.stdout.write(`${r.structures.length} structures, ${r.structures.reduce((a, x) => a + x.light_sites, 0)} C/N/O sites\n`);
      for (const d of r.detectors) {
        process.stdout.write(`  ${(d.signals === 'validate-F' ? 'R1-swap F test' : d.signals.join('+')).padEnd(22)} recall ${d.caught}/${d.swaps} (${d.per_kind.map((k) => `${k.kind} ${k.caught}/${k.swaps}`).join(', ')}), false alarms ${d.false_alarms}/${d.correct_atoms} (${(100 * d.false_alarm_rate).toFixed(1)} %); fully occupied sites: recall ${d.fully_occupied.caught}/${d.fully_occupied.swaps}, false alarms ${d.fully_occupied.false_alarms}/${d.fully_occupied.correct_atoms}\n`);
      }
      if (o.json) writeRecord(o.json, rec.finish(r as unknown as Record<string, unknown>));
      await report(o.html, 'crystal swaps', [X.swapsSection(r)]);
    });

  cmd.command('eval').description('accuracy of the shipped model (or --model) on a folder of structures, without training; --loso: leave-one-structure-out of the folder-trained classifiers')
    .requiredOption('--data <dir>', 'folder with SHELXL CIFs (embedded res+hkl) and/or .res+.hkl pairs (a corpus folder: its held-out split)')
    .option('--seeds <list>', 'comma-separated seeds (peak simulation)', parseStringList, ['0', '1', '2'])
    .option('--model <file>', 'a model from crystal train (default: the shipped model)')
    .option('--decoder <d>', `${X.DECODERS.join(' | ')}`, 'near-counts')
    .option('--loso', 'leave-one-structure-out evaluation of the classifiers trained on the folder itself (at least 3 structures)')
    .option('--json <file>', 'output JSON').option('--html <file>', 'HTML report')
    .action(async (o: { data: string; seeds: string[]; model?: string; decoder: string; loso?: boolean; json?: string; html?: string }) => {
      const seeds = o.seeds.map(Number);
      if (seeds.some((s) => !Number.isInteger(s))) throw new InputError(`--seeds expects integers, got ${o.seeds.join(',')}`);
      if (!(X.DECODERS as readonly string[]).includes(o.decoder)) throw new InputError(`--decoder must be one of ${X.DECODERS.join(', ')}, got ${o.decoder}`);
      outputGuard().inputFolder(o.data, '--data', STRUCTURE_FILES).input(o.model, '--model').output(o.json, '--json').output(o.html, '--html').check();
      if (o.loso && o.model) throw new InputError('--loso trains on the folder; it takes no --model');
      const rec = new RunRecorder('crystal eval', o, seeds);
      let p: ReturnType<typeof progress> | undefined;
      const steps = { onStart: (n: number) => { p = progress('crystal eval', n); }, onStep: () => p?.tick() };
      if (!o.loso) {
        const { result: r } = await X.modelEvalRun(o.data, seeds, { model: o.model, decoder: o.decoder as X.Decoder, ...steps }, (phase, fn) => rec.time(phase, fn));
        p?.done();
        const f = (v: number | null) => X.fmt(v, 3);
        process.stdout.write(`${r.structures.length} structures (${r.split}), ${r.atoms} non-H atoms, seeds ${seeds.join(',')}; model: ${r.model_source}\n` +
          `  heavy-atom accuracy: model ${f(r.model.heavy_acc)} ± ${f(r.model.heavy_acc_sd)} (${o.decoder}), height-rank baseline ${f(r.baseline_height_rank.heavy_acc)} ± ${f(r.baseline_height_rank.heavy_acc_sd)}\n` +
          `  per element (model / baseline): ${Object.entries(r.per_element).map(([e, v]) => `${e} ${f(v.model_acc)}/${f(v.baseline_acc)} (${v.atoms})`).join(', ')}\n` +
          `  H count per atom: model ${f(r.model.h_count_acc)}, valence rule ${f(r.baseline_valence_rule.h_count_acc)} (${r.h_atoms} atoms)\n`);
        if (o.json) writeRecord(o.json, rec.finish(r as unknown as Record<string, unknown>));
        await report(o.html, 'crystal eval', [X.modelEvalSection(r)]);
        return;
      }
      const { cases, result: res } = await X.evaluationRun(o.data, seeds, steps, (phase, fn) => rec.time(phase, fn));
      p?.done();
      const m = res.assignment.mean;
      const fmt = (k: string) => `${m[k].mean.toFixed(3)} ± ${m[k].std.toFixed(3)}`;
      process.stdout.write(`${cases} structures, seeds ${seeds.join(',')}\n  atom accuracy: baseline ${fmt('baseline_atom_acc')}, model argmax ${fmt('model_argmax_atom_acc')}, model counts ${fmt('model_counts_atom_acc')}, rank-shift ${fmt('model_rankshift_atom_acc')}\n` +
        `  all-correct structures: baseline ${fmt('baseline_structures_all_correct')}, model counts ${fmt('model_counts_structures_all_correct')}, rank-shift ${fmt('model_rankshift_structures_all_correct')}\n` +
        `  H count per atom: valence rule ${(res.hydrogens.valence_rule_atom_acc as number).toFixed(3)}, learned ${(res.hydrogens.learned_atom_acc as number).toFixed(3)}\n`);
      if (o.json) writeRecord(o.json, rec.finish(res as unknown as Record<string, unknown>));
      await report(o.html, 'crystal eval', [X.evalSection(res)]);
    });
}

async function demo(ctx: DemoContext): Promise<DemoResult> {
  const d = X.swapDemo(rng(ctx.seed, 'crystal-demo'));
  writeJsonAtomic(join(ctx.outDir, 'crystal-validate.json'), d.validation);
  return { sections: d.sections, metrics: d.metrics };
}

export const crystalCli: AreaCli = { name: 'crystal', register, demo };
