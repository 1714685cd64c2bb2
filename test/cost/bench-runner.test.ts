import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { computeRatios, convert, lastJsonObject, parseBenchOutput, ratiosMarkdown, ratiosSvg, unitOfKey } from '../../bench/lib.js';
import { addRobustFit, mpiArgs, peerEnv } from '../../bench/run.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench lines and ratios', () => {
  it('parses schema lines and ignores the rest', () => {
    const text = ['progress...', '{"name":"a_us","value":2,"unit":"us","backend":"sab","p":2,"better":"lower"}', '{"value":1}', '[1]', '{"name":"b","value":"x"}', ''].join('\n');
    const { lines, ignored } = parseBenchOutput(text, 'x.bench.ts');
    expect(lines).toEqual([{ name: 'a_us', value: 2, unit: 'us', backend: 'sab', p: 2, better: 'lower', file: 'x.bench.ts' }]);
    expect(ignored).toHaveLength(4);
    expect(lastJsonObject('a\n{"x":1}\n{"y":2}\nnoise')).toEqual({ y: 2 });
  });

  it('converts units by key suffix', () => {
    expect(unitOfKey('pingpong_8B_us')).toBe('us');
    expect(unitOfKey('allreduce_8MiB_ms')).toBe('ms');
    expect(unitOfKey('bw_16MiB_GBps')).toBe('GBps');
    expect(unitOfKey('jacobi_2048_Mcells_per_s')).toBeUndefined(); // a rate, not seconds
    expect(convert(2, 'ms', 'us')).toBeCloseTo(2000, 9);
    expect(convert(1.5, 'GBps', 'MBps')).toBeCloseTo(1500, 9);
    expect(convert(3, 'us', 'GFlops')).toBe(3);
  });

  it('computes superstep / peer and superstep / limit, keyed by P', () => {
    const lines = parseBenchOutput(
      [
        JSON.stringify({ name: 'pp_us', backend: 'sab', p: 2, value: 0.5, unit: 'us', better: 'lower', compare: { mpi4py: 'pingpong_8B_us', node: 'spin_us', absent: 'x' } }),
        JSON.stringify({ name: 'ar_ms', backend: 'sab', p: 4, value: 30, unit: 'ms', better: 'lower', compare: { mpi4py: 'allreduce_8MiB_ms' } }),
        JSON.stringify({ name: 'bw_GBps', backend: 'sab', p: 2, value: 3, unit: 'GBps', better: 'higher', compare: { mpi4py: 'bw_16MiB_GBps' } }),
      ].join('\n'),
    ).lines;
    const peers = { mpi4py: { 2: { pingpong_8B_us: 1, bw_16MiB_GBps: 6, allreduce_8MiB_ms: 99 }, 4: { allreduce_8MiB_ms: 60 } }, node: { 0: { spin_us: 0.25 } } };
    const r = computeRatios(lines, peers);
    expect(r.map((x) => [x.name, x.peer, x.ratio, x.limit])).toEqual([
      ['pp_us', 'mpi4py', 0.5, false],
      ['pp_us', 'node', 2, true],
      ['ar_ms', 'mpi4py', 0.5, false],
      ['bw_GBps', 'mpi4py', 0.5, false],
    ]);
    expect(r.map((x) => x.advantage)).toEqual([2, 0.5, 2, 0.5]);
    const md = ratiosMarkdown(lines, r);
    expect(md).toContain('| pp_us | sab | 2 | 0.500 us | lower | mpi4py: 1.00 us (**0.50**) | node: 0.250 us (**2.00**) |');
    const svg = ratiosSvg(r, 't');
    expect(svg.match(/class="ratio"/g)).toHaveLength(4);
    expect(svg.match(/#54a24b/g)).toHaveLength(2);
  });

  it('builds the peer commands: tcp flags, and OpenBLAS overrides removed only there', () => {
    expect(mpiArgs(4, false, 'py', 'b.py')).toEqual(['--allow-run-as-root', '--oversubscribe', '-n', '4', 'py', 'b.py']);
    expect(mpiArgs(2, true, 'py', 'b.py').join(' ')).toContain('--mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo');
    const env = peerEnv({ OPENBLAS_CORETYPE: 'x', OPENBLAS_L2_SIZE: '1', PATH: '/bin' });
    expect(env).toEqual({ PATH: '/bin', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' });
  });

  it('refits the peer\'s raw probe points robustly', () => {
    const H = [0, 8, 32, 128, 512, 2048, 8192, 32768];
    const o = addRobustFit({ bsp_H_doubles: H, bsp_t_us: H.map((h) => 1.5 + 0.0014 * h) });
    expect(o.bsp_l_us_robust).toBeCloseTo(1.5, 3);
    expect(o.bsp_g_ns_per_double_robust).toBeCloseTo(1.4, 3);
    expect(addRobustFit({ x: 1 })).toEqual({ x: 1 });
  });
});

describe('bench runner (npm run bench) on a fake bench directory', () => {
  it('runs every *.bench.ts and the limits, writes json, md and svg', () => {
    const bdir = join(dir, 'bench');
    const pdir = join(dir, 'peers');
    mkdirSync(bdir);
    mkdirSync(pdir);
    writeFileSync(join(bdir, 'one.bench.ts'), `console.log(JSON.stringify({ name: 'x_us', backend: 'sab', p: 2, value: 3, unit: 'us', better: 'lower', compare: { node: 'lim_us' } }));\n`);
    writeFileSync(join(bdir, 'two.bench.ts'), `console.error('progress'); console.log(JSON.stringify({ name: 'y_GBps', backend: 'sab', p: 2, value: 2, unit: 'GBps', better: 'higher', compare: { node: 'lim_GBps' } }));\n`);
    writeFileSync(join(bdir, 'helper.ts'), 'throw new Error("not a bench");\n');
    writeFileSync(join(pdir, 'node_limits.mjs'), `console.log(JSON.stringify({ lim_us: 1.5, lim_GBps: 4 }));\n`);
    const run = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', run, '--dir', bdir, '--no-mpi'], { encoding: 'utf8', env: { ...process.env, SUPERSTEP_PEERS: pdir }, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(join(bdir, 'results')).sort();
    const date = new Date().toISOString().slice(0, 10);
    expect(files).toEqual([`${date}-limits.svg`, `${date}.json`, `${date}.md`, 'latest.md']);
    const json = JSON.parse(readFileSync(join(bdir, 'results', `${date}.json`), 'utf8'));
    expect(json.lines.map((l: { name: string }) => l.name)).toEqual(['x_us', 'y_GBps']);
    expect(json.ratios.map((x: { ratio: number }) => x.ratio)).toEqual([2, 0.5]);
    expect(readFileSync(join(bdir, 'results', 'latest.md'), 'utf8')).toContain('node: 1.50 us (**2.00**)');
    expect(r.stderr).toContain('[two] progress');
    expect(r.stdout).toContain('| one | x_us |');
    const bad = spawnSync(process.execPath, ['--import', 'tsx', run, '--bogus'], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
  });
});
