/**
 * The profile report: a markdown table and an SVG chart of predicted vs measured time per
 * superstep, written by hand (no DOM, no dependency).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BspParams } from './params.js';
import { profileTotals, type CollectiveRow, type ProfileRow } from './profile.js';

/** Formats seconds with a unit that suits them (ns, µs, ms, s). */
export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '-';
  const a = Math.abs(s);
  if (a === 0) return '0';
  if (a < 1e-6) return `${(s * 1e9).toPrecision(3)} ns`;
  if (a < 1e-3) return `${(s * 1e6).toPrecision(3)} µs`;
  if (a < 1) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${s.toPrecision(3)} s`;
}

function ratio(r: ProfileRow): string {
  return r.predicted ? (r.t / r.predicted).toFixed(2) : '-';
}

/**
 * The profile as a markdown table (one row per superstep, then the totals), and with
 * `collectives` a second table: the collective calls on messages grouped by collective,
 * algorithm, P and bytes.
 */
export function profileMarkdown(rows: readonly ProfileRow[], params?: BspParams & { p?: number; backend?: string; source?: string }, collectives: readonly CollectiveRow[] = []): string {
  const lines: string[] = [];
  if (params) {
    const where = params.backend ? ` (${params.backend}${params.p ? `, P = ${params.p}` : ''}${params.source ? `, ${params.source}` : ''})` : '';
    lines.push(`Parameters${where}: g = ${(params.g * 1e9).toPrecision(3)} ns/word, l = ${formatSeconds(params.l)}, r = ${(params.r / 1e9).toPrecision(3)} Gflop/s`, '');
  } else {
    lines.push('No parameters for this host, backend and P: run `npx superstep probe` to get predictions.', '');
  }
  lines.push('| superstep | pass phrase | w | h (words) | measured t | predicted w + g·h + l | measured / predicted |');
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const ph = r.passPhrase === null ? '' : r.passPhrase.replace(/\|/g, '\\|');
    lines.push(`| ${r.superstep}${r.complete ? '' : '*'} | ${ph} | ${formatSeconds(r.w)} | ${Math.round(r.h)} | ${formatSeconds(r.t)} | ${formatSeconds(r.predicted)} | ${ratio(r)} |`);
  }
  const tot = profileTotals(rows);
  const tr = tot.predicted ? (tot.measured / tot.predicted).toFixed(2) : '-';
  lines.push(`| total (${tot.supersteps}) | | ${formatSeconds(tot.w)} | ${Math.round(tot.h)} | ${formatSeconds(tot.measured)} | ${formatSeconds(tot.predicted)} | ${tr} |`);
  if (rows.some((r) => !r.complete)) lines.push('', '\\* h and t of this superstep include only this rank\'s received bytes and time.');
  if (collectives.length) lines.push('', collectivesMarkdown(collectives));
  return lines.join('\n') + '\n';
}

/**
 * The collective calls as a markdown table: one row per (collective, algorithm, P, bytes),
 * with the calls' mean measured time (max over ranks per call) against the model's time for
 * the algorithm chosen.
 */
export function collectivesMarkdown(calls: readonly CollectiveRow[]): string {
  const groups = new Map<string, { c: CollectiveRow; n: number; t: number }>();
  for (const c of calls) {
    const k = `${c.collective}/${c.algorithm}/${c.p}/${c.bytes}`;
    const g = groups.get(k) ?? { c, n: 0, t: 0 };
    g.n++;
    g.t += c.t;
    groups.set(k, g);
  }
  const lines = [`Collectives on messages (${calls.length} calls; the algorithm the model chose, comm/collectives/choose.ts):`, ''];
  lines.push('| collective | P | bytes | algorithm | calls | measured t (mean) | predicted | measured / predicted |');
  lines.push('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const { c, n, t } of groups.values()) {
    const mean = t / n;
    lines.push(`| ${c.collective} | ${c.p} | ${c.bytes} | ${c.algorithm} | ${n} | ${formatSeconds(mean)} | ${formatSeconds(c.predicted)} | ${c.predicted ? (mean / c.predicted).toFixed(2) : '-'} |`);
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * An SVG chart: per superstep, a bar of the measured time and a marker of the predicted time
 * (log scale when times span more than two decades). At most `maxBars` supersteps are drawn
 * (the ones with the longest measured time, in order).
 */
export function profileSvg(rows: readonly ProfileRow[], title = 'superstep profile: measured vs predicted', maxBars = 200): string {
  let shown = [...rows];
  if (shown.length > maxBars) {
    const keep = new Set([...shown].sort((a, b) => b.t - a.t).slice(0, maxBars).map((r) => r.superstep));
    shown = shown.filter((r) => keep.has(r.superstep));
  }
  const W = 760, H = 360, left = 70, right = 20, top = 40, bottom = 60;
  const values = shown.flatMap((r) => [r.t, r.predicted ?? 0]).filter((v) => v > 0);
  const max = values.length ? Math.max(...values) : 1;
  const min = values.length ? Math.min(...values) : 1;
  const log = max / min > 100;
  const lo = log ? 10 ** Math.floor(Math.log10(min)) : 0;
  // Linear axis: a 1-2-5 step so that tick labels are round numbers.
  const step = log ? 0 : niceStep(max / 4);
  const hi = log ? 10 ** Math.ceil(Math.log10(max)) : Math.ceil((max * 1.05) / step) * step;
  const y = (v: number) => {
    const f = log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi;
    return top + (H - top - bottom) * (1 - f);
  };
  const n = Math.max(1, shown.length);
  const slot = (W - left - right) / n;
  const bw = Math.max(1, slot * 0.6);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  // Axis ticks.
  const ticks: number[] = [];
  if (log) for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
  else for (let v = 0; v <= hi * 1.0001; v += step) ticks.push(v);
  for (const v of ticks) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 4}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(formatSeconds(v))}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="#333"/>`);
  shown.forEach((r, i) => {
    const x = left + i * slot + (slot - bw) / 2;
    const yt = y(r.t);
    out.push(`<rect class="measured" x="${x.toFixed(1)}" y="${yt.toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - bottom - yt).toFixed(1)}" fill="#4c78a8"><title>superstep ${r.superstep}${r.passPhrase ? ` (${esc(r.passPhrase)})` : ''}: measured ${esc(formatSeconds(r.t))}, predicted ${esc(formatSeconds(r.predicted))}</title></rect>`);
    if (r.predicted !== null) {
      const yp = y(r.predicted).toFixed(1);
      out.push(`<line class="predicted" x1="${(x - 2).toFixed(1)}" x2="${(x + bw + 2).toFixed(1)}" y1="${yp}" y2="${yp}" stroke="#e45756" stroke-width="2.5"/>`);
    }
    if (n <= 40 || i % Math.ceil(n / 40) === 0) {
      out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle">${r.superstep}</text>`);
    }
  });
  out.push(`<text x="${(left + W - right) / 2}" y="${H - bottom + 32}" text-anchor="middle">superstep</text>`);
  const ly = H - 14;
  out.push(`<rect x="${left}" y="${ly - 9}" width="12" height="10" fill="#4c78a8"/><text x="${left + 16}" y="${ly}">measured t</text>`);
  out.push(`<line x1="${left + 110}" x2="${left + 126}" y1="${ly - 4}" y2="${ly - 4}" stroke="#e45756" stroke-width="2.5"/><text x="${left + 130}" y="${ly}">predicted w + g·h + l</text>`);
  if (log) out.push(`<text x="${W - right}" y="${ly}" text-anchor="end">log scale</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  const f = x / e;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

/** Writes profile.md and profile.svg (and profile.json) into `dir`; returns their paths. */
export function writeProfileReport(
  dir: string,
  rows: readonly ProfileRow[],
  params?: BspParams & { p?: number; backend?: string; source?: string },
  collectives: readonly CollectiveRow[] = [],
): { markdown: string; svg: string; json: string } {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  const markdown = join(d, 'profile.md');
  const svg = join(d, 'profile.svg');
  const json = join(d, 'profile.json');
  writeFileSync(markdown, `# superstep profile\n\n![measured vs predicted](profile.svg)\n\n${profileMarkdown(rows, params, collectives)}`);
  writeFileSync(svg, profileSvg(rows));
  writeFileSync(json, JSON.stringify({ params: params ?? null, rows, collectives }, null, 2) + '\n');
  return { markdown, svg, json };
}
