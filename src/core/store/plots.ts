// Vega-Lite specs for comparing runs: one line chart per curve the runs share, one heatmap per
// run for each matrix (accuracy matrices), and the paired differences with their intervals.
import type { Comparison } from './compare.js';
import type { RunDetail } from './runs.js';

export interface Plot { readonly title: string; readonly spec: Record<string, unknown> }

export const MAX_PLOTS = 24;

export function comparePlots(runs: readonly RunDetail[], c: Comparison): Plot[] {
  const plots: Plot[] = [];
  const label = new Map(c.runs.map((r) => [r.id, `${r.id} ${r.variant}${typeof r.seed === 'number' ? ` seed ${r.seed}` : ''}`]));
  const curveKeys = new Map<string, number>();
  for (const r of runs) for (const [k, s] of Object.entries(r.series)) if (s.kind === 'curve') curveKeys.set(k, (curveKeys.get(k) ?? 0) + 1);
  const shared = [...curveKeys.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
  for (const k of shared) {
    if (plots.length >= MAX_PLOTS) break;
    const values: { run: string; step: number; value: number }[] = [];
    for (const r of runs) {
      const s = r.series[k];
      if (s?.kind !== 'curve') continue;
      s.values.forEach((v, i) => { if (typeof v === 'number') values.push({ run: label.get(r.id)!, step: i + 1, value: v }); });
    }
    plots.push({
      title: k,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 220, title: k,
        data: { values }, mark: { type: 'line', point: true },
        encoding: { x: { field: 'step', type: 'quantitative', title: 'index', axis: { tickMinStep: 1, format: 'd' } }, y: { field: 'value', type: 'quantitative', title: k.split('.').at(-1) }, color: { field: 'run', type: 'nominal', title: 'run' } },
      },
    });
  }
  for (const r of runs) {
    for (const [k, s] of Object.entries(r.series)) {
      if (s.kind !== 'matrix' || plots.length >= MAX_PLOTS) continue;
      const values: { row: number; col: number; value: number }[] = [];
      s.values.forEach((row, i) => row.forEach((v, j) => { if (typeof v === 'number') values.push({ row: i + 1, col: j + 1, value: v }); }));
      plots.push({
        title: `${k} (${r.id})`,
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 220, height: 220, title: `${k}: ${label.get(r.id)}`,
          data: { values }, mark: 'rect',
          encoding: { x: { field: 'col', type: 'ordinal' }, y: { field: 'row', type: 'ordinal' }, color: { field: 'value', type: 'quantitative' }, tooltip: [{ field: 'row' }, { field: 'col' }, { field: 'value', format: '.4g' }] },
        },
      });
    }
  }
  const withCi = c.paired.filter((p) => p.lo !== null && p.hi !== null).slice(0, 30);
  if (withCi.length && plots.length < MAX_PLOTS) {
    plots.push({
      title: 'paired differences',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, title: `paired differences (variant - ${withCi[0].baseline}), 95% interval`,
        data: { values: withCi.map((p) => ({ metric: p.metric, variant: p.variant, mean: p.mean, lo: p.lo, hi: p.hi })) },
        layer: [
          { mark: 'rule', encoding: { y: { field: 'metric', type: 'nominal' }, x: { field: 'lo', type: 'quantitative', title: 'difference' }, x2: { field: 'hi' }, color: { field: 'variant', type: 'nominal' } } },
          { mark: { type: 'point', filled: true }, encoding: { y: { field: 'metric', type: 'nominal' }, x: { field: 'mean', type: 'quantitative' }, color: { field: 'variant', type: 'nominal' } } },
        ],
      },
    });
  }
  return plots;
}
