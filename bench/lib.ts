/**
 * The bench runner's pure parts: parsing bench lines, converting units, computing ratios,
 * and rendering the markdown table and SVG charts. bench/run.ts does the running.
 */
import type { World } from '../core/launch/world.js';
import { median } from '../core/cost/fit.js';
import { backendNamed, kBackends } from '../comm/backends/index.js';

/**
 * The backends a bench runs on: every one of the table that can run here (in table order),
 * narrowed by `--backends=a,b` or `--backends a,b`; one that cannot says why on stderr.
 */
export function benchBackends(argv: readonly string[] = process.argv): string[] {
  const i = argv.findIndex((a) => a === '--backends' || a.startsWith('--backends='));
  const only = i < 0 ? undefined : (argv[i]!.includes('=') ? argv[i]!.slice('--backends='.length) : argv[i + 1] ?? '').split(',');
  const out: string[] = [];
  for (const b of kBackends) {
    if (only && !only.includes(b.name)) continue;
    const why = b.unavailable();
    if (why === undefined) out.push(b.name);
    else process.stderr.write(`bench: backend '${b.name}' skipped: ${why}\n`);
  }
  return out;
}

/** The mpi4py result key a backend's figures compare with (mpi4py over shared memory or over TCP). */
export const peerOf = (backend: string): string => backendNamed(backend).benchPeer ?? 'mpi4py';

/** One line a bench printed (see bench/README.md for the schema). */
export interface BenchLine {
  name: string;
  value: number;
  unit: string;
  backend: string;
  p: number;
  better: 'lower' | 'higher' | 'none';
  compare?: Record<string, string>;
  peer_p?: number;
  extra?: unknown;
  /** The bench file that printed it (added by the runner). */
  file?: string;
}

/** A peer's output: one JSON object per P (node: under P = 0, as it has no P). */
export type PeerResults = Record<string, Record<number, Record<string, unknown>>>;

/** Peers whose figures are physical limits (the "superstep / limit" column). */
export const kLimitPeers = new Set(['node']);

/** A comparison of one line with one peer's figure. */
export interface Ratio {
  name: string;
  backend: string;
  p: number;
  file?: string;
  peer: string;
  key: string;
  value: number;
  unit: string;
  peerValue: number;
  /** value / peerValue (peer converted to the line's unit). */
  ratio: number;
  /** How many times better superstep is (> 1 better, < 1 worse), whatever `better` is. */
  advantage: number;
  limit: boolean;
  better: 'lower' | 'higher' | 'none';
}

/** Parses a bench's stdout: JSON lines that follow the schema, and how many lines did not. */
export function parseBenchOutput(text: string, file?: string): { lines: BenchLine[]; ignored: string[] } {
  const lines: BenchLine[] = [];
  const ignored: string[] = [];
  for (const raw of text.split('\n')) {
    const s = raw.trim();
    if (!s) continue;
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch {
      ignored.push(s);
      continue;
    }
    const l = o as Partial<BenchLine>;
    if (typeof l !== 'object' || l === null || typeof l.name !== 'string' || typeof l.value !== 'number' || !Number.isFinite(l.value)) {
      ignored.push(s);
      continue;
    }
    lines.push({
      name: l.name,
      value: l.value,
      unit: typeof l.unit === 'string' ? l.unit : '',
      backend: typeof l.backend === 'string' ? l.backend : 'any',
      p: typeof l.p === 'number' ? l.p : 1,
      better: l.better === 'higher' || l.better === 'none' ? l.better : 'lower',
      ...(l.compare && typeof l.compare === 'object' ? { compare: l.compare } : {}),
      ...(typeof l.peer_p === 'number' ? { peer_p: l.peer_p } : {}),
      ...(l.extra !== undefined ? { extra: l.extra } : {}),
      ...(file ? { file } : {}),
    });
  }
  return { lines, ignored };
}

/** The last line of `text` that is a JSON object, or undefined. */
export function lastJsonObject(text: string): Record<string, unknown> | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean).reverse();
  for (const l of lines) {
    try {
      const o = JSON.parse(l);
      if (o && typeof o === 'object' && !Array.isArray(o)) return o as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

const kTime: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };
const kRate: Record<string, number> = { Bps: 1, KBps: 1e3, MBps: 1e6, GBps: 1e9 };

/** The unit a peer key's suffix names (pingpong_8B_us -> us), if any. */
export function unitOfKey(key: string): string | undefined {
  if (/_per_s$/.test(key)) return undefined; // a rate such as Mcells_per_s, not seconds
  const m = /_(ns|us|ms|s|KBps|MBps|GBps)$/.exec(key);
  return m?.[1];
}

/** Converts `value` from unit `from` to unit `to` when both are times or both rates; else unchanged. */
export function convert(value: number, from: string | undefined, to: string): number {
  if (!from || from === to) return value;
  if (from in kTime && to in kTime) return (value * kTime[from]!) / kTime[to]!;
  if (from in kRate && to in kRate) return (value * kRate[from]!) / kRate[to]!;
  return value;
}

/** Every comparison of every line with the peers it names (skipping peers that did not run). */
export function computeRatios(lines: readonly BenchLine[], peers: PeerResults): Ratio[] {
  const out: Ratio[] = [];
  for (const l of lines) {
    for (const [peer, key] of Object.entries(l.compare ?? {})) {
      const byP = peers[peer];
      if (!byP) continue;
      const limit = kLimitPeers.has(peer);
      const res = limit ? (byP[0] ?? Object.values(byP)[0]) : byP[l.peer_p ?? l.p];
      const raw = res?.[key];
      if (typeof raw !== 'number' || !Number.isFinite(raw) || raw === 0) continue;
      const peerValue = convert(raw, unitOfKey(key), l.unit);
      const ratio = l.value / peerValue;
      out.push({
        name: l.name, backend: l.backend, p: l.p, file: l.file, peer, key, value: l.value, unit: l.unit, peerValue, ratio,
        advantage: l.better === 'higher' ? ratio : 1 / ratio, limit, better: l.better,
      });
    }
  }
  return out;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3));

/** The markdown table: every line, with its ratios to peers and limits. */
export function ratiosMarkdown(lines: readonly BenchLine[], ratios: readonly Ratio[], title = 'superstep benchmarks'): string {
  const md = [`# ${title}`, '', 'Ratio = superstep / peer (same unit). "lower is better" lines want ratios < 1, "higher" lines ratios > 1.', ''];
  md.push('| bench | name | backend | P | superstep | better | peer: value (ratio) | limit: value (ratio) |');
  md.push('| --- | --- | --- | ---: | ---: | --- | --- | --- |');
  for (const l of lines) {
    const mine = ratios.filter((r) => r.name === l.name && r.backend === l.backend && r.p === l.p && r.file === l.file);
    const cell = (lim: boolean) =>
      mine.filter((r) => r.limit === lim).map((r) => `${r.peer}: ${fmt(r.peerValue)} ${l.unit} (**${r.ratio.toFixed(2)}**)`).join('<br>') || '-';
    md.push(`| ${(l.file ?? '').replace(/\.bench\.ts$/, '')} | ${l.name} | ${l.backend} | ${l.p} | ${fmt(l.value)} ${l.unit} | ${l.better} | ${cell(false)} | ${cell(true)} |`);
  }
  return md.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart of advantages on a log2 axis centred on 1: bars to the right (green)
 * are where superstep is better than the peer or limit, to the left (red) worse.
 */
export function ratiosSvg(ratios: readonly Ratio[], title: string): string {
  const rowH = 18, left = 330, right = 70, top = 40, W = 900;
  const H = top + Math.max(1, ratios.length) * rowH + 40;
  const span = Math.max(1, Math.ceil(Math.max(1, ...ratios.map((r) => Math.abs(Math.log2(r.advantage))).filter(Number.isFinite))));
  const mid = left + (W - left - right) / 2;
  const scale = (W - left - right) / 2 / span;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${W - right + 4}" y="${top - 10}" font-size="10">ratio</text>`,
  ];
  for (let k = -span; k <= span; k++) {
    const x = mid + k * scale;
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top - 6}" y2="${H - 30}" stroke="${k === 0 ? '#333' : '#e5e5e5'}"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${H - 16}" text-anchor="middle">${k >= 0 ? `${2 ** k}×` : `1/${2 ** -k}`}</text>`);
  }
  out.push(`<text x="${mid}" y="${H - 3}" text-anchor="middle">superstep better →  (log scale; ← worse)</text>`);
  ratios.forEach((r, i) => {
    const y = top + i * rowH;
    const a = Math.max(-span, Math.min(span, Math.log2(r.advantage)));
    const x0 = a >= 0 ? mid : mid + a * scale;
    const w = Math.max(1, Math.abs(a) * scale);
    out.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(`${r.name} ${r.backend} P=${r.p} vs ${r.peer}`)}</text>`);
    out.push(`<rect class="ratio" x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${a >= 0 ? '#54a24b' : '#e45756'}"><title>${esc(`${r.name}: ${r.value} ${r.unit} vs ${r.peer} ${r.key} ${r.peerValue.toPrecision(4)} ${r.unit}; ratio ${r.ratio.toFixed(3)}`)}</title></rect>`);
    out.push(`<text x="${W - right + 4}" y="${y + 12}">${r.ratio.toFixed(2)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Runs `fn` of module `url` as a job `runs` times and returns the median of rank 0's results. */
export async function medianOfJobs(world: World, url: string, fn: string, args: unknown[], runs = 5, discard = 0): Promise<number> {
  const xs = (await runJobs<number>(world, url, fn, args, discard + runs)).slice(discard);
  return median(xs);
}

/**
 * For rank functions that return a SteadyTime (bench/steady.ts): the median steady figure of
 * `runs` jobs, and the cold figure of the first job (the first time this code ran in the World).
 */
export async function medianOfSteadyJobs(world: World, url: string, fn: string, args: unknown[], runs = 3): Promise<{ steady: number; cold: number; rounds: number[] }> {
  const xs = await runJobs<{ steady: number; cold: number; rounds: number }>(world, url, fn, args, runs);
  return { steady: median(xs.map((x) => x.steady)), cold: xs[0]!.cold, rounds: xs.map((x) => x.rounds) };
}

/** Runs `fn` as `count` jobs one after another; rank 0's result of each. */
async function runJobs<T>(world: World, url: string, fn: string, args: unknown[], count: number): Promise<T[]> {
  const xs: T[] = [];
  for (let i = 0; i < count; i++) {
    const out = await world.job<T>({ kind: 'call', url, fn, args }, { timeoutMs: 120_000 });
    if (!out.ok) throw new Error(`${fn} (${JSON.stringify(args)}) failed on rank ${out.failure?.rank}: ${out.failure?.error.message}`);
    xs.push(out.results[0]!);
  }
  return xs;
}
