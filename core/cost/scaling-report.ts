/**
 * The scaling report: a markdown table and an SVG chart per workload and mode (time of one
 * iteration against P, both axes log2/log10), measured points against the predicted line for
 * this machine, the region where P exceeds the cores shaded, and the cluster's predicted line
 * out to P = 1024. Written by hand, as report.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatSeconds } from './report.js';
import type { ScalingPoint, ScalingReport } from './scaling.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The panels of a report: one per (workload, mode) present. */
function panels(rep: ScalingReport): { key: string; points: ScalingPoint[] }[] {
  const keys = [...new Set(rep.points.map((q) => `${q.workload} ${q.mode}`))];
  return keys.map((key) => ({ key, points: rep.points.filter((q) => `${q.workload} ${q.mode}` === key) }));
}

/** The report as markdown tables (one per workload and mode). */
export function scalingMarkdown(rep: ScalingReport): string {
  const out = [`Backend ${rep.backend}, ${rep.cores} cores (P above them is oversubscribed). Time of one iteration (one superstep).`, ''];
  for (const { key, points } of panels(rep)) {
    out.push(`### ${key}`, '', '| P | size | measured | predicted (this machine) | measured / predicted | predicted (cluster) |', '| ---: | --- | ---: | ---: | ---: | ---: |');
    const ps = [...new Set(points.map((q) => q.p))].sort((a, b) => a - b);
    for (const p of ps) {
      const m = points.find((q) => q.p === p && q.params === 'machine');
      const c = points.find((q) => q.p === p && q.params === 'cluster');
      const ratio = m?.measured !== undefined ? (m.measured / m.predicted).toFixed(2) : '-';
      out.push(`| ${p}${m?.oversubscribed ? ' (over)' : ''} | ${(m ?? c)!.size} | ${formatSeconds(m?.measured ?? null)} | ${formatSeconds(m?.predicted ?? null)} | ${ratio} | ${formatSeconds(c?.predicted ?? null)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** The chart: one panel per workload and mode, side by side in rows of two. */
export function scalingSvg(rep: ScalingReport, title = 'superstep scaling: time per iteration, measured and predicted'): string {
  const ps = panels(rep);
  const PW = 420, PH = 300, cols = 2, rows = Math.ceil(ps.length / cols);
  const W = PW * cols, H = PH * rows + 60;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  ps.forEach(({ key, points }, k) => {
    const ox = (k % cols) * PW, oy = 30 + Math.floor(k / cols) * PH;
    const left = ox + 70, right = ox + PW - 15, top = oy + 25, bottom = oy + PH - 45;
    const allP = points.map((q) => q.p);
    const vals = points.flatMap((q) => [q.predicted, q.measured ?? q.predicted]).filter((v) => v > 0);
    const pMax = Math.max(2, ...allP);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...vals)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...vals)));
    const x = (p: number) => left + ((right - left) * Math.log2(p)) / Math.log2(pMax);
    const y = (v: number) => bottom - ((bottom - top) * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / Math.max(1e-9, Math.log10(hi) - Math.log10(lo));
    out.push(`<text x="${(left + right) / 2}" y="${oy + 15}" text-anchor="middle" font-size="13">${esc(key)} scaling</text>`);
    // Oversubscribed: P above the cores, on this machine's measured range.
    const overPs = points.filter((q) => q.params === 'machine' && q.oversubscribed).map((q) => q.p);
    if (overPs.length) {
      // From halfway (on the log axis) between the cores and the next P, to the last P run.
      const x0 = x(rep.cores * Math.SQRT2), x1 = x(Math.max(...overPs));
      out.push(`<rect class="oversubscribed" x="${x0.toFixed(1)}" y="${top}" width="${Math.max(2, x1 - x0).toFixed(1)}" height="${bottom - top}" fill="#f2dede"><title>P &gt; ${rep.cores} cores: oversubscribed</title></rect>`);
      out.push(`<text x="${((x0 + x1) / 2).toFixed(1)}" y="${top + 12}" text-anchor="middle" fill="#a94442" font-size="10">oversubscribed</text>`);
    }
    for (let v = lo; v <= hi * 1.0001; v *= 10) {
      out.push(`<line x1="${left}" x2="${right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
      out.push(`<text x="${left - 4}" y="${y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${esc(formatSeconds(v))}</text>`);
    }
    for (let p = 1; p <= pMax; p *= 2) out.push(`<text x="${x(p).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${p}</text>`);
    out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`, `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
    out.push(`<text x="${(left + right) / 2}" y="${bottom + 30}" text-anchor="middle">P (ranks)</text>`);
    const line = (qs: ScalingPoint[], cls: string, color: string, dash: string) => {
      if (qs.length < 1) return;
      const d = qs.sort((a, b) => a.p - b.p).map((q, i) => `${i ? 'L' : 'M'}${x(q.p).toFixed(1)},${y(q.predicted).toFixed(1)}`).join(' ');
      out.push(`<path class="${cls}" d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    };
    line(points.filter((q) => q.params === 'cluster'), 'predicted-cluster', '#72b7b2', '6 4');
    line(points.filter((q) => q.params === 'machine'), 'predicted', '#e45756', '');
    for (const q of points.filter((q) => q.measured !== undefined)) {
      out.push(`<circle class="measured" cx="${x(q.p).toFixed(1)}" cy="${y(q.measured!).toFixed(1)}" r="4" fill="#4c78a8"><title>P = ${q.p} (${esc(q.size)}): measured ${esc(formatSeconds(q.measured!))}, predicted ${esc(formatSeconds(q.predicted))}</title></circle>`);
    }
  });
  const ly = H - 12;
  out.push(`<circle cx="76" cy="${ly - 4}" r="4" fill="#4c78a8"/><text x="86" y="${ly}">measured</text>`);
  out.push(`<line x1="160" x2="180" y1="${ly - 4}" y2="${ly - 4}" stroke="#e45756" stroke-width="2"/><text x="184" y="${ly}">predicted, this machine</text>`);
  out.push(`<line x1="330" x2="350" y1="${ly - 4}" y2="${ly - 4}" stroke="#72b7b2" stroke-width="2" stroke-dasharray="6 4"/><text x="354" y="${ly}">predicted, cluster (its g, l)</text>`);
  out.push(`<rect x="530" y="${ly - 10}" width="12" height="10" fill="#f2dede"/><text x="546" y="${ly}">P &gt; ${rep.cores} cores (oversubscribed)</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes scaling.md, scaling.svg and scaling.json into `dir`; returns their paths. */
export function writeScalingReport(dir: string, rep: ScalingReport): { markdown: string; svg: string; json: string } {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  const markdown = join(d, 'scaling.md'), svg = join(d, 'scaling.svg'), json = join(d, 'scaling.json');
  writeFileSync(markdown, `# superstep scaling\n\n![scaling](scaling.svg)\n\n${scalingMarkdown(rep)}`);
  writeFileSync(svg, scalingSvg(rep));
  writeFileSync(json, JSON.stringify(rep, null, 2) + '\n');
  return { markdown, svg, json };
}
