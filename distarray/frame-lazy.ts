/**
 * Lazy DistFrame plans: `frame.lazy()` (or io's scanArrow/scanParquet) records verbs as a tree
 * of plan nodes instead of running them; `collect()` optimises the tree and runs it, equal to
 * running the same verbs eagerly. The optimiser has two rules:
 * - filter pushdown: a filter moves below selects, sorts, other filters, a withColumn it does
 *   not read, a groupBy whose keys are all it reads, the side of a join whose columns are all
 *   it reads (and that side's rows are kept as they are), and into a scan (Parquet prunes row
 *   groups by their statistics); a conjunction is split first, each part going as far as it can;
 * - projection pushdown: each node asks its input only for the columns it uses, so a scan
 *   reads only those and a frame is narrowed by a select before a shuffle moves it.
 * `explain()` prints the optimised tree, each shuffle (groupBy, join, sort) annotated with its
 * BSP prediction w + g·h + l from estimated rows and column widths and the probed g and l
 * (rank 0's, so every rank prints the same), and after `collect({ profile: true })` the
 * measured time of every step beside it.
 *
 * A plan's column names and types come from running it on zero rows (a dry run), so nothing
 * here repeats what a verb does to the schema. Dry runs, collect and explain are collective.
 */
import type { Schema } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { groupByCounts } from '../core/cost/counts.js';
import { predictWith, type Prediction, type SuperstepCounts } from '../core/cost/predict.js';
import { ArgumentError } from '../util/errors.js';
import { DistFrame, type AggOp, type AggSpec } from './frame.js';
import { Expr } from './frame-expr.js';
import { emptyData, familyOf, take } from './frame-kernels.js';
import { joinShapes, kDefaultG, kDefaultL, safeParams, type JoinOptions } from './frame-join.js';
import { kHolisticOps } from './frame-agg.js';

/** A file a lazy plan reads (io's scanArrow/scanParquet make one). */
export interface ScanSource {
  format: 'arrow' | 'parquet';
  path: string;
  schema: Schema;
  /** Rows in the file (from its footer). */
  rows: number;
  /** Collective: the file's rows that `filter` keeps (as far as the format can tell before reading, the rest after), only `columns` (all if undefined). */
  read(columns: string[] | undefined, filter: Expr | undefined): Promise<DistFrame>;
}

export type AggSpecs = Record<string, AggOp | AggOp[] | AggSpec>;
export interface SortOptions { descending?: boolean | boolean[]; nullsFirst?: boolean }

/** A node of a lazy plan. */
export type PlanNode =
  | { kind: 'frame'; frame: DistFrame }
  | { kind: 'scan'; source: ScanSource; columns?: string[]; filter?: Expr }
  | { kind: 'select'; input: PlanNode; columns: string[] }
  | { kind: 'filter'; input: PlanNode; expr: Expr }
  | { kind: 'withColumn'; input: PlanNode; name: string; expr: Expr }
  | { kind: 'groupBy'; input: PlanNode; keys: string[]; spec: AggSpecs }
  | { kind: 'join'; input: PlanNode; right: PlanNode; on: string | string[] | undefined; options: JoinOptions }
  | { kind: 'sort'; input: PlanNode; keys: string[]; options: SortOptions }
  | { kind: 'head'; input: PlanNode; n: number };

/** What explain shows of a shuffle's prediction (seconds). */
export interface StepPrediction {
  seconds: number;
  w: number;
  gh: number;
  l: number;
}

/** The result of `frame.groupBy(keys)` on a LazyFrame: call `agg`. */
export class LazyGroupBy {
  constructor(private readonly input: PlanNode, private readonly keys: string[]) {}

  /** The same spec as GroupedFrame.agg, recorded. */
  agg(spec: AggSpecs): LazyFrame {
    if (typeof spec !== 'object' || spec === null) throw new ArgumentError('spec', "an object such as { x: 'sum' }", spec, world.rank);
    return new LazyFrame({ kind: 'groupBy', input: this.input, keys: this.keys, spec });
  }
}

/** A DistFrame computation recorded, not run: build it with the verbs, then `collect()`. */
export class LazyFrame {
  /** After `collect({ profile: true })`: the plan that ran and every step's measured seconds. */
  private profiled: { plan: PlanNode; measured: Map<PlanNode, number> } | undefined;

  /** @internal Use frame.lazy(), scanArrow or scanParquet. */
  constructor(readonly plan: PlanNode) {}

  select(...names: (string | string[])[]): LazyFrame {
    return new LazyFrame({ kind: 'select', input: this.plan, columns: names.flat() });
  }

  /** The rows where `predicate` is true (an expression: lazy plans need to see what it reads). */
  filter(predicate: Expr): LazyFrame {
    if (!(predicate instanceof Expr)) throw new ArgumentError('predicate', "an expression such as col('x').gt(3) (a lazy plan must see the columns it reads)", predicate, world.rank);
    return new LazyFrame({ kind: 'filter', input: this.plan, expr: predicate });
  }

  withColumn(name: string, expr: Expr): LazyFrame {
    if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('name', 'a non-empty column name', name, world.rank);
    if (!(expr instanceof Expr)) throw new ArgumentError('expr', "an expression such as col('x').mul(2)", expr, world.rank);
    return new LazyFrame({ kind: 'withColumn', input: this.plan, name, expr });
  }

  groupBy(keys: string | string[]): LazyGroupBy {
    const ks = typeof keys === 'string' ? [keys] : keys;
    if (!Array.isArray(ks) || ks.length === 0 || ks.some((k) => typeof k !== 'string')) throw new ArgumentError('keys', 'a column name or a non-empty list of names', keys, world.rank);
    return new LazyGroupBy(this.plan, ks);
  }

  join(other: LazyFrame | DistFrame, on?: string | string[] | JoinOptions, options: JoinOptions = {}): LazyFrame {
    const right = other instanceof DistFrame ? other.lazy().plan : other instanceof LazyFrame ? other.plan : undefined;
    if (!right) throw new ArgumentError('other', 'a LazyFrame or a DistFrame', other, world.rank);
    if (typeof on === 'object' && on !== null && !Array.isArray(on)) return new LazyFrame({ kind: 'join', input: this.plan, right, on: undefined, options: on });
    return new LazyFrame({ kind: 'join', input: this.plan, right, on, options });
  }

  sortBy(keys: string | string[], options: SortOptions = {}): LazyFrame {
    return new LazyFrame({ kind: 'sort', input: this.plan, keys: typeof keys === 'string' ? [keys] : keys, options });
  }

  /** The first `n` rows in global order (a DistFrame once collected; DistFrame.head gives a Table). */
  head(n = 5): LazyFrame {
    if (!Number.isInteger(n) || n < 0) throw new ArgumentError('n', 'an integer >= 0', n, world.rank);
    return new LazyFrame({ kind: 'head', input: this.plan, n });
  }

  /** Collective: the plan after filter and projection pushdown. */
  async optimize(): Promise<PlanNode> {
    const dry = new DryRun();
    return prune(await pushFilters(this.plan, dry), null, dry);
  }

  /**
   * Collective: runs the optimised plan; the DistFrame equals running the verbs eagerly.
   * `profile`: records each step's measured time for explain() to show.
   */
  async collect(options: { profile?: boolean } = {}): Promise<DistFrame> {
    const plan = await this.optimize();
    const measured = new Map<PlanNode, number>();
    const out = await run(plan, options.profile ? measured : undefined);
    if (options.profile) this.profiled = { plan, measured };
    return out;
  }

  /**
   * Collective: the optimised plan as text, one node a line, children indented; shuffles with
   * their predicted time (w + g·h + l) and, after collect({ profile: true }), every step's
   * measured time. `print`: also write it to stdout (rank 0 only).
   */
  async explain(options: { print?: boolean } = {}): Promise<string> {
    const plan = this.profiled?.plan ?? (await this.optimize());
    const text = await explainPlan(plan, this.profiled?.measured);
    if (options.print && world.rank === 0) console.log(text);
    return text;
  }
}

// Running
// -------

async function run(node: PlanNode, measured?: Map<PlanNode, number>): Promise<DistFrame> {
  const input = 'input' in node ? await run(node.input, measured) : undefined;
  const right = node.kind === 'join' ? await run(node.right, measured) : undefined;
  const t0 = performance.now();
  const out = await step(node, input!, right);
  measured?.set(node, (performance.now() - t0) / 1e3);
  return out;
}

async function step(node: PlanNode, f: DistFrame, right: DistFrame | undefined): Promise<DistFrame> {
  switch (node.kind) {
    case 'frame': return node.frame;
    case 'scan': return node.source.read(node.columns, node.filter);
    case 'select': return f.select(node.columns);
    case 'filter': return f.filter(node.expr);
    case 'withColumn': return f.withColumn(node.name, node.expr);
    case 'groupBy': return f.groupBy(node.keys).agg(node.spec);
    case 'join': return f.join(right!, node.on, node.options);
    case 'sort': return f.sortBy(node.keys, node.options);
    case 'head': return headFrame(f, node.n);
  }
}

/** Collective: the first n rows in global order, as a frame. */
async function headFrame(f: DistFrame, n: number): Promise<DistFrame> {
  const before = world.size > 1 ? (await world.exscan(Float64Array.of(f.localRows), 'SUM'))[0]! : 0;
  const mine = Math.max(0, Math.min(f.localRows, n - (world.rank === 0 ? 0 : before)));
  const idx = Int32Array.from({ length: mine }, (_, i) => i);
  return new DistFrame(f.schema, f.columns.map((c) => take(c, idx)));
}

/** Column names of plan nodes, from running them on zero rows (memoised per node). */
class DryRun {
  private readonly memo = new Map<PlanNode, Promise<DistFrame>>();

  frame(node: PlanNode): Promise<DistFrame> {
    let f = this.memo.get(node);
    if (!f) {
      f = this.make(node);
      this.memo.set(node, f);
    }
    return f;
  }

  async names(node: PlanNode): Promise<string[]> {
    return (await this.frame(node)).names;
  }

  private async make(node: PlanNode): Promise<DistFrame> {
    if (node.kind === 'frame') return emptyLike(node.frame.schema);
    if (node.kind === 'scan') {
      let f = emptyLike(node.source.schema);
      if (node.filter) f = f.filter(node.filter);
      return node.columns ? f.select(node.columns) : f;
    }
    const input = await this.frame(node.input);
    const right = node.kind === 'join' ? await this.frame(node.right) : undefined;
    return step(node, input, right);
  }
}

function emptyLike(schema: Schema): DistFrame {
  return new DistFrame(schema, schema.fields.map((f) => emptyData(f.type)));
}

// The optimiser
// -------------

async function pushFilters(node: PlanNode, dry: DryRun): Promise<PlanNode> {
  switch (node.kind) {
    case 'frame':
    case 'scan':
      return node;
    case 'filter': {
      let input = await pushFilters(node.input, dry);
      for (const part of conjuncts(node.expr)) input = await pushFilter(input, part, dry);
      return input;
    }
    case 'join':
      return { ...node, input: await pushFilters(node.input, dry), right: await pushFilters(node.right, dry) };
    default:
      return { ...node, input: await pushFilters(node.input, dry) } as PlanNode;
  }
}

/** The parts of a chain of `and`s. */
function conjuncts(e: Expr): Expr[] {
  const n = e.node;
  if (n.k === 'bin' && n.op === 'and') return [...conjuncts(new Expr(n.a)), ...conjuncts(new Expr(n.b))];
  return [e];
}

/** `input` filtered by `expr`, the filter as far down as it can go. */
async function pushFilter(input: PlanNode, expr: Expr, dry: DryRun): Promise<PlanNode> {
  const uses = expr.columns();
  const stay: PlanNode = { kind: 'filter', input, expr };
  switch (input.kind) {
    case 'scan':
      return { ...input, filter: input.filter ? input.filter.and(expr) : expr };
    case 'select':
    case 'filter':
    case 'sort':
      return { ...input, input: await pushFilter(input.input, expr, dry) };
    case 'withColumn':
      return uses.includes(input.name) ? stay : { ...input, input: await pushFilter(input.input, expr, dry) };
    case 'groupBy':
      return uses.every((c) => input.keys.includes(c)) ? { ...input, input: await pushFilter(input.input, expr, dry) } : stay;
    case 'join': {
      const how = input.options.how ?? 'inner';
      const left = await dry.names(input.input);
      const right = await dry.names(input.right);
      // The left's rows are kept as they are in these kinds, and its columns keep their names.
      if (['inner', 'left', 'semi', 'anti', 'cross'].includes(how) && uses.every((c) => left.includes(c))) return { ...input, input: await pushFilter(input.input, expr, dry) };
      if (['inner', 'right', 'cross'].includes(how) && uses.every((c) => right.includes(c) && !left.includes(c))) return { ...input, right: await pushFilter(input.right, expr, dry) };
      return stay;
    }
    default:
      return stay;
  }
}

/** `node` made to read only the columns it and `need` use (null: all of its output). */
async function prune(node: PlanNode, need: string[] | null, dry: DryRun): Promise<PlanNode> {
  const union = (...xs: string[][]) => [...new Set(xs.flat())];
  switch (node.kind) {
    case 'frame': {
      const names = node.frame.names;
      return need && need.length < names.length ? { kind: 'select', input: node, columns: names.filter((c) => need.includes(c)) } : node;
    }
    case 'scan': {
      const names = node.columns ?? node.source.schema.fields.map((f) => f.name);
      return need ? { ...node, columns: names.filter((c) => need.includes(c)) } : node;
    }
    case 'select': {
      const columns = need ? node.columns.filter((c) => need.includes(c)) : node.columns;
      return { ...node, columns, input: await prune(node.input, columns, dry) };
    }
    case 'filter':
      return { ...node, input: await prune(node.input, need && union(need, node.expr.columns()), dry) };
    case 'withColumn':
      if (need && !need.includes(node.name)) return prune(node.input, need, dry);
      return { ...node, input: await prune(node.input, need && union(need.filter((c) => c !== node.name), node.expr.columns()), dry) };
    case 'groupBy':
      return { ...node, input: await prune(node.input, union(node.keys, aggInputs(node.spec)), dry) };
    case 'sort':
      return { ...node, input: await prune(node.input, need && union(need, node.keys), dry) };
    case 'head':
      return { ...node, input: await prune(node.input, need, dry) };
    case 'join': {
      if (!need) return { ...node, input: await prune(node.input, null, dry), right: await prune(node.right, null, dry) };
      const left = await dry.names(node.input);
      const right = await dry.names(node.right);
      const on = node.on === undefined ? [] : typeof node.on === 'string' ? [node.on] : node.on;
      const lKeys = [...on, ...names(node.options.leftOn)];
      const rKeys = [...on, ...names(node.options.rightOn)];
      const suffix = node.options.suffix ?? '_right';
      const how = node.options.how ?? 'inner';
      const rNeed = how === 'semi' || how === 'anti' ? rKeys : union(right.filter((c) => need.includes(left.includes(c) ? c + suffix : c)), rKeys);
      // Left columns a kept right column clashes with stay, so the right's names do not change.
      const lNeed = union(left.filter((c) => need.includes(c) || rNeed.includes(c)), lKeys);
      return { ...node, input: await prune(node.input, lNeed, dry), right: await prune(node.right, rNeed, dry) };
    }
  }
}

function names(x: string | string[] | undefined): string[] {
  return x === undefined ? [] : typeof x === 'string' ? [x] : x;
}

/** The input columns of an agg spec. */
function aggInputs(spec: AggSpecs): string[] {
  return Object.entries(spec).flatMap(([name, v]) => {
    if (typeof v === 'string' || Array.isArray(v)) return [name];
    if (v.col instanceof Expr) return v.col.columns();
    return typeof v.col === 'string' && v.col !== '*' ? [v.col] : [];
  });
}

// explain
// -------

/** Estimated global rows and bytes per row of every node. */
interface Estimate {
  rows: number;
  width: number;
}

/** Bytes per row of a schema: fixed widths as they are, strings and lists a guess of 16. */
function widthOf(schema: Schema): number {
  return schema.fields.reduce((s, f) => {
    const fam = familyOf(f.type, f.name);
    const bits = (f.type as unknown as { bitWidth?: number }).bitWidth;
    return s + (fam === 'fixed' ? (bits ?? 64) / 8 : fam === 'bool' ? 1 / 8 : fam === 'dict' ? 4 : 16);
  }, 0);
}

async function explainPlan(plan: PlanNode, measured: Map<PlanNode, number> | undefined): Promise<string> {
  const dry = new DryRun();
  // One allgather: every frame source's local rows, and rank 0's g, l, r and b.
  const frames: DistFrame[] = [];
  const visit = (n: PlanNode): void => {
    if (n.kind === 'frame') frames.push(n.frame);
    if ('input' in n) visit(n.input);
    if (n.kind === 'join') visit(n.right);
  };
  visit(plan);
  const resolved = world.rank === 0 ? safeParams() : undefined;
  const mine = { rows: frames.map((f) => f.localRows), params: resolved ? { g: resolved.g, l: resolved.l, r: resolved.r, b: resolved.b, source: resolved.source } : undefined };
  const all = world.size > 1 ? await world.allgatherObject(mine) : [mine];
  const params = all[0]!.params ?? { g: kDefaultG, l: kDefaultL, r: 1e9, b: undefined, source: 'default' };
  const bsp = { g: params.g, l: params.l, r: params.r || 1e9, b: params.b ?? 2e9 };
  const globalRows = new Map(frames.map((f, k) => [f, all.reduce((s, a) => s + a.rows[k]!, 0)]));
  const p = world.size;

  const lines: string[] = [];
  const walk = async (node: PlanNode, depth: number): Promise<Estimate> => {
    const at = lines.length;
    lines.push('');
    const kids: Estimate[] = [];
    if ('input' in node) kids.push(await walk(node.input, depth + 1));
    if (node.kind === 'join') kids.push(await walk(node.right, depth + 1));
    const width = widthOf((await dry.frame(node)).schema);
    const inRows = kids[0]?.rows ?? 0;
    let rows = inRows;
    let label: string;
    let steps: SuperstepCounts[] | undefined;
    const perRank = (n: number) => Math.ceil(n / p);
    const moved = (n: number, w: number) => (perRank(n) * (p - 1) / p) * w / 8; // words one rank sends
    switch (node.kind) {
      case 'frame':
        rows = globalRows.get(node.frame)!;
        label = `frame [${node.frame.names.join(', ')}]`;
        break;
      case 'scan':
        rows = node.filter ? Math.ceil(node.source.rows / 2) : node.source.rows;
        label = `scan ${node.source.format} ${node.source.path} columns [${(node.columns ?? node.source.schema.fields.map((f) => f.name)).join(', ')}]${node.filter ? ` filter ${node.filter}` : ''}`;
        break;
      case 'select': label = `select [${node.columns.join(', ')}]`; break;
      case 'filter': rows = Math.ceil(inRows / 2); label = `filter ${node.expr}`; break;
      case 'withColumn': label = `withColumn ${node.name} = ${node.expr}`; break;
      case 'head': rows = Math.min(node.n, inRows); label = `head ${node.n}`; break;
      case 'groupBy': {
        rows = Math.max(1, Math.ceil(inRows / 2));
        label = `groupBy [${node.keys.join(', ')}] agg ${JSON.stringify(node.spec)}`;
        const ops = Object.values(node.spec).flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : [v.op]));
        const holistic = ops.some((o) => (kHolisticOps as readonly string[]).includes(o));
        steps = holistic
          ? [{ h: 1 }, { bytes: 2 * perRank(inRows) * kids[0]!.width, h: moved(inRows, kids[0]!.width) }]
          : groupByCounts({ rows: perRank(inRows), keys: node.keys.length, columns: aggInputs(node.spec).length, groups: rows, p });
        break;
      }
      case 'join': {
        const how = node.options.how === 'outer' ? 'full' : (node.options.how ?? 'inner');
        const [L, R] = kids as [Estimate, Estimate];
        rows = how === 'left' || how === 'semi' || how === 'anti' ? L.rows : how === 'right' ? R.rows : how === 'full' ? L.rows + R.rows : how === 'cross' ? L.rows * R.rows : Math.max(L.rows, R.rows);
        const shapes = joinShapes(Array.from({ length: p }, () => [perRank(L.rows) * L.width, perRank(R.rows) * R.width] as const), how);
        const secs = (x: { bytes: number; supersteps: number } | undefined) => (x ? (bsp.g / 8) * x.bytes + x.supersteps * bsp.l : Infinity);
        const forced = node.options.strategy ?? 'auto';
        const ways = (['shuffle', 'broadcastRight', 'broadcastLeft'] as const).filter((k) => shapes[k] && (forced === 'auto' || (forced === 'shuffle') === (k === 'shuffle')));
        const best = ways.reduce((a, b) => (secs(shapes[b]) < secs(shapes[a]) ? b : a), ways[0]!);
        const shape = shapes[best]!;
        steps = Array.from({ length: shape.supersteps }, (_, i) => ({ h: i === 0 ? shape.bytes / 8 : 0 }));
        label = `join ${how} on ${JSON.stringify(node.on ?? { leftOn: node.options.leftOn, rightOn: node.options.rightOn })} (${best.replace('broadcastR', 'broadcast-r').replace('broadcastL', 'broadcast-l')})`;
        break;
      }
      case 'sort': {
        const n = perRank(inRows);
        steps = [{ h: 1 }, { h: p }, { bytes: 2 * n * width + 16 * n * Math.log2(n + 1), h: moved(inRows, width) }];
        label = `sort [${node.keys.join(', ')}]${node.options.descending ? ' descending' : ''}`;
        break;
      }
    }
    let note = `~${Math.round(rows)} rows`;
    if (steps) note += `; predicted ${fmt(predictionOf(steps, bsp, p))}`;
    const m = measured?.get(node);
    if (m !== undefined) note += `; measured ${ms(m)}`;
    lines[at] = `${'  '.repeat(depth)}${label}  (${note})`;
    return { rows, width };
  };
  await walk(plan, 0);
  lines.push(`(predictions: w + g·h + l with g = ${params.g.toExponential(2)} s/word, l = ${params.l.toExponential(2)} s from ${params.source === 'default' ? 'defaults (run `superstep probe`)' : `the ${params.source} probe parameters`}, P = ${p})`);
  return lines.join('\n');
}

function predictionOf(steps: SuperstepCounts[], params: { g: number; l: number; r: number; b: number }, p: number): StepPrediction {
  const pr: Prediction = predictWith({ steps, p }, params);
  return { seconds: pr.seconds, w: pr.compute, gh: pr.communication, l: pr.synchronisation };
}

const ms = (s: number) => `${(s * 1e3).toPrecision(3)} ms`;
const fmt = (x: StepPrediction) => `${ms(x.seconds)} = w ${ms(x.w)} + g·h ${ms(x.gh)} + l ${ms(x.l)}`;
