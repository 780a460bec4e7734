// Self-contained HTML reports: text, tables and Vega-Lite plots rendered to inline SVG in Node
// (no scripts, no network), so a report opens anywhere and can be archived as one file.
import type { TopLevelSpec } from 'vega-lite';
import { formatNumber } from './format.js';
import { writeFileAtomic } from './fsx.js';

export type VegaLiteSpec = TopLevelSpec;

export type Block =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'table'; readonly caption?: string; readonly header: readonly string[]; readonly rows: readonly (readonly (string | number | null)[])[] }
  | { readonly kind: 'plot'; readonly caption?: string; readonly spec: VegaLiteSpec }
  | { readonly kind: 'html'; readonly html: string };

/** One titled part of a report; areas build these and the CLI assembles them. */
export interface Section {
  readonly title: string;
  readonly blocks: readonly Block[];
}

/** Fluent builder for a section. */
export class SectionBuilder {
  private readonly blocks: Block[] = [];
  constructor(readonly title: string) {}
  text(t: string): this { this.blocks.push({ kind: 'text', text: t }); return this; }
  table(header: readonly string[], rows: readonly (readonly (string | number | null)[])[], caption?: string): this {
    this.blocks.push({ kind: 'table', header, rows, caption }); return this;
  }
  plot(spec: VegaLiteSpec, caption?: string): this { this.blocks.push({ kind: 'plot', spec, caption }); return this; }
  /** Raw HTML (already escaped by the caller): for custom views such as the 3-D structure viewer. */
  html(h: string): this { this.blocks.push({ kind: 'html', html: h }); return this; }
  build(): Section { return { title: this.title, blocks: this.blocks.slice() }; }
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Vega-Lite spec -> SVG markup, rendered headless in Node. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  // Loaded on first use: importing vega and vega-lite costs about half a second, which every
  // command that writes no plot would pay at start-up.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function fmt(v: string | number | null): string {
  if (v === null) return '—';
  if (typeof v === 'number') return formatNumber(v, { digits: 4, trim: true });
  return escapeHtml(v);
}

async function renderBlock(b: Block): Promise<string> {
  switch (b.kind) {
    case 'text':
      return b.text.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
    case 'html':
      return b.html;
    case 'table': {
      const head = `<tr>${b.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
      const body = b.rows.map((r) => `<tr>${r.map((v) => `<td>${fmt(v)}</td>`).join('')}</tr>`).join('\n');
      const cap = b.caption ? `<caption>${escapeHtml(b.caption)}</caption>` : '';
      return `<table>${cap}<thead>${head}</thead><tbody>${body}</tbody></table>`;
    }
    case 'plot': {
      const svg = await renderSvg(b.spec);
      const cap = b.caption ? `<figcaption>${escapeHtml(b.caption)}</figcaption>` : '';
      return `<figure class="plot">${svg}${cap}</figure>`;
    }
  }
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
figure.plot{margin:1em 0}figcaption{font-size:90%;color:#555}.meta{color:#666;font-size:85%}`;

/** Render sections into one self-contained HTML document. */
export async function renderReport(title: string, sections: readonly Section[], meta?: string): Promise<string> {
  const parts: string[] = [];
  for (const s of sections) {
    const blocks = await Promise.all(s.blocks.map(renderBlock));
    parts.push(`<section><h2>${escapeHtml(s.title)}</h2>\n${blocks.join('\n')}</section>`);
  }
  const toc = sections.length > 1 ? `<ul>${sections.map((s) => `<li>${escapeHtml(s.title)}</li>`).join('')}</ul>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>${meta ? `<p class="meta">${escapeHtml(meta)}</p>` : ''}${toc}
${parts.join('\n')}
</body></html>\n`;
}

export async function writeReport(path: string, title: string, sections: readonly Section[], meta?: string): Promise<void> {
  writeFileAtomic(path, await renderReport(title, sections, meta));
}

/** A line chart spec for series given as {x, y, series} rows: the most common plot here. */
export function lineChart(rows: readonly Record<string, unknown>[], opts: {
  x: string; y: string; series?: string; title?: string; xTitle?: string; yTitle?: string;
  logX?: boolean; logY?: boolean; width?: number; height?: number; points?: boolean;
}): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    data: { values: rows as Record<string, unknown>[] },
    mark: { type: 'line', point: opts.points ?? true },
    encoding: {
      x: { field: opts.x, type: 'quantitative', title: opts.xTitle ?? opts.x, scale: opts.logX ? { type: 'log' } : {} },
      y: { field: opts.y, type: 'quantitative', title: opts.yTitle ?? opts.y, scale: opts.logY ? { type: 'log' } : { zero: false } },
      ...(opts.series ? { color: { field: opts.series, type: 'nominal' } } : {}),
    },
  } as VegaLiteSpec;
}

/** A grouped bar chart: `x` categories, `y` values, optional `series` colour. */
export function barChart(rows: readonly Record<string, unknown>[], opts: {
  x: string; y: string; series?: string; title?: string; yTitle?: string; width?: number; height?: number;
}): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    data: { values: rows as Record<string, unknown>[] },
    mark: 'bar',
    encoding: {
      x: { field: opts.x, type: 'nominal' },
      y: { field: opts.y, type: 'quantitative', title: opts.yTitle ?? opts.y },
      ...(opts.series ? { color: { field: opts.series, type: 'nominal' }, xOffset: { field: opts.series } } : {}),
    },
  } as VegaLiteSpec;
}
