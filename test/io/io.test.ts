// Parallel I/O on real ranks: Arrow files written by P ranks and read by Q ranks (and by
// apache-arrow in one process), .npy files against numpy, raw collective I/O through file
// views, and durability: a rank that throws or dies mid-write leaves the previous file intact.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';
import { digestOf, genTable, rowsOf, type Row } from '../fixtures/io.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-io-'));
afterAll(async () => {
  await closeWorlds();
  rmSync(dir, { recursive: true, force: true });
});

const F = 'io.ts';
const kT = 30_000;
// One python start (numpy's import is slow on a busy machine): which modules exist.
const pyMods = (() => {
  try {
    return execFileSync('python3', ['-c', "import importlib.util as u; print(*[u.find_spec(m) is not None for m in ('numpy', 'pyarrow')])"], { encoding: 'utf8' }).trim().split(' ');
  } catch {
    return ['False', 'False'];
  }
})();
const hasNumpy = pyMods[0] === 'True';
const hasPyarrow = pyMods[1] === 'True';
if (!hasNumpy) console.log('numpy checks skipped: python3 cannot import numpy');
if (!hasPyarrow) console.log('pyarrow check skipped: python3 cannot import pyarrow (not installed here); apache-arrow reads every file instead');
const py = (code: string) => execFileSync('python3', ['-c', code], { encoding: 'utf8' });
let seq = 0;
/** P in 1..4 on sab; on tcp (seconds per world start) only the worlds other tests here use. */
const arbP = (backend: string) => (backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3));
const fresh = (ext: string) => join(dir, `f${seq++}${ext}`);

describe.each(backends())('parallel I/O on %s', (backend) => {
  it('writeArrow with P ranks, readArrow with Q ranks: the same table; apache-arrow reads the file unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(arbP(backend), arbP(backend), fc.nat(1000), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.boolean(),
        async (p, q, seed, n, batchRows, dataset, balance) => {
          const path = fresh(dataset ? '' : '.arrow');
          await callAll(backend, p, F, 'writeTable', [path, seed, n, batchRows, dataset], kT);
          const want = rowsOf(genTable(seed, n));
          if (!dataset) expect(rowsOf(tableFromIPC(readFileSync(path)))).toEqual(want);
          else expect(readdirSync(path).sort()).toContain('_manifest.json');
          const res = await callAll<{ local: number; rows: Row[] | null }>(backend, q, F, 'readTable', [path, balance], kT);
          expect(res[0]!.rows).toEqual(want);
          expect(res.reduce((s, r) => s + r.local, 0)).toBe(n);
          if (balance) res.forEach((r, i) => expect(r.local).toBe(Math.floor(n / q) + (i < n % q ? 1 : 0)));
        }),
      { numRuns: backend === 'sab' ? 4 : 3 },
    );
  });

  it('a 1.7 MiB table: each reader reads only its share of the batches', async () => {
    const path = fresh('.arrow');
    await callAll(backend, 2, F, 'writeTable', [path, 5, 40_000, 4096, false], kT);
    const bytes = readFileSync(path);
    expect(bytes.byteLength).toBeGreaterThan(1.5 * 2 ** 20);
    const t = tableFromIPC(bytes);
    const res = await callAll<{ local: number; digest: string | null }>(backend, 3, F, 'readTable', [path, false, true], kT);
    expect(res.map((r) => r.local).every((m) => m > 8_000 && m < 20_000)).toBe(true);
    expect(res.reduce((s, r) => s + r.local, 0)).toBe(40_000);
    expect(t.numRows).toBe(40_000);
    expect(rowsOf(t.slice(39_990))).toEqual(rowsOf(genTable(5, 40_000).slice(39_990)));
    expect(res[0]!.digest).toBe(digestOf(rowsOf(genTable(5, 40_000))));
    if (hasPyarrow) expect(py(`import pyarrow as pa; print(pa.ipc.open_file('${path}').read_all().num_rows)`).trim()).toBe('40000');
    // Fixed-width columns without nulls take the direct path (column buffers read in place).
    const fixed = fresh('.arrow');
    const cols = ['i8', 'u8', 'u16', 'f32'];
    await callAll(backend, 2, F, 'writeTable', [fixed, 6, 30_000, 4096, false, cols], kT);
    const fr = await callAll<{ local: number; digest: string | null }>(backend, 3, F, 'readTable', [fixed, false, true], kT);
    expect(fr.reduce((s, r) => s + r.local, 0)).toBe(30_000);
    expect(fr[0]!.digest).toBe(digestOf(rowsOf(genTable(6, 30_000).select(cols))));
  });

  for (const kind of ['arrow', 'dataset', 'npy', 'raw'] as const) {
    it(`${kind}: a rank throwing mid-write gives every rank an IOError and leaves the previous file intact`, async () => {
      const path = fresh(kind === 'npy' ? '.npy' : kind === 'raw' ? '.bin' : kind === 'arrow' ? '.arrow' : '');
      await callAll(backend, 3, F, 'faultyWrite', [path, kind, -1, 'throw'], kT); // the previous version
      const before = kind === 'dataset' ? readFileSync(join(path, '_manifest.json')) : readFileSync(path);
      const res = await callAll<{ name: string; code: string; message: string } | null>(backend, 3, F, 'faultyWrite', [path, kind, 1, 'throw'], kT);
      for (const r of res) {
        expect(r?.code).toBe('ERR_IO');
        expect(r?.message).toMatch(/rank 1 failed: Error: injected failure on rank 1/);
      }
      expect(kind === 'dataset' ? readFileSync(join(path, '_manifest.json')) : readFileSync(path)).toEqual(before);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('a rank killed mid-write fails the job and leaves the previous Arrow file readable and unchanged', async () => {
    const path = fresh('.arrow');
    await callAll(backend, 3, F, 'faultyWrite', [path, 'arrow', -1, 'throw'], kT);
    const before = readFileSync(path);
    const out = await tryCall(backend, 3, F, 'faultyWrite', [path, 'arrow', 2, 'exit'], 20_000);
    expect(out.ok).toBe(false);
    expect(readFileSync(path)).toEqual(before);
    expect(tableFromIPC(readFileSync(path)).numRows).toBe(50);
  });

  it('truncated files, wrong magic and mismatched schemas give typed errors on every rank', async () => {
    const good = fresh('.arrow');
    await callAll(backend, 2, F, 'writeTable', [good, 1, 30, 7, false], kT);
    const bytes = readFileSync(good);
    const cases: [string, Uint8Array, 'arrow' | 'npy' | 'raw', RegExp][] = [
      ['.arrow', bytes.subarray(0, bytes.byteLength - 100), 'arrow', /trailing magic ARROW1 is missing/],
      ['.arrow', Uint8Array.from([...Buffer.from('PARQ'), ...bytes.subarray(4)]), 'arrow', /leading magic ARROW1 is missing/],
      ['.npy', Buffer.from('not numpy at all'), 'npy', /magic string/],
      ['.npy', Buffer.from("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }" + ' '.repeat(51) + '\n', 'latin1'), 'npy', /truncated/],
      ['.bin', new Uint8Array(100), 'raw', /truncated/],
    ];
    for (const [ext, b, kind, re] of backend === 'sab' ? cases : [cases[0]!, cases[2]!]) {
      const path = fresh(ext);
      writeFileSync(path, b);
      const res = await callAll<{ code: string; message: string } | null>(backend, 3, F, 'readBad', [path, kind], kT);
      for (const r of res) {
        expect(r?.code).toBe(kind === 'raw' ? 'ERR_FILE_FORMAT' : 'ERR_FILE_FORMAT');
        expect(r?.message).toMatch(re);
      }
    }
    // A path of its own on each rank: the same CollectiveArgumentError on every rank, though
    // the reads (one exchange at their end) already failed or succeeded on each.
    for (const kind of backend === 'sab' ? (['arrow', 'npy', 'raw'] as const) : (['arrow'] as const)) {
      const res = await callAll<{ code: string; message: string } | null>(backend, 3, F, 'readPerRankPath', [good, kind], kT);
      for (const r of res) {
        expect(r?.code).toBe('ERR_COLLECTIVE_ARG');
        expect(r?.message).toMatch(/same path on every rank: rank 0 passed '.*', rank 1 passed '.*\.rank1'/);
      }
    }
    const res = await callAll<{ code: string; message: string } | null>(backend, 3, F, 'mismatchedSchemas', [fresh('.arrow'), 2], kT);
    for (const r of res) {
      expect(r?.code).toBe('ERR_SCHEMA_MISMATCH');
      expect(r?.message).toMatch(/rank 2 has/);
    }
  });

  it('writeAtAll/readAtAll through block, cyclic and block-cyclic views, and at explicit offsets', async () => {
    const kinds = ['block', 'cyclic', 'block-cyclic'] as const;
    await fc.assert(
      fc.asyncProperty(arbP(backend), fc.integer({ min: 0, max: 50 }), fc.constantFrom(...kinds), fc.constantFrom(...kinds), fc.constantFrom(0, 16), async (p, total, wk, rk, disp) => {
        const path = fresh('.bin');
        const res = await callAll<number[]>(backend, p, F, 'rawViews', [path, total, wk, rk, disp], kT);
        res.forEach(([bad]) => expect(bad).toBe(0));
        expect(res.reduce((s, [, n]) => s + n!, 0)).toBe(total);
        const f = new Float64Array(Uint8Array.from(readFileSync(path)).buffer.slice(disp));
        expect(Array.from(f)).toEqual(Array.from({ length: total }, (_, i) => i));
      }),
      { numRuns: backend === 'sab' ? 6 : 3 },
    );
    const res = await callAll<number[]>(backend, 3, F, 'rawOffsets', [fresh('.bin')], kT);
    expect(res[0]).toEqual([0, 1, 1, 2, 2, 2]);
  });

  it.runIf(hasNumpy)('saveNpy of any layout is what numpy loads; loadNpy reads what numpy saves', async () => {
    const specs = [
      { shape: [7, 5], grid: [3, 1], axes: [{ kind: 'block' as const }, { kind: 'block' as const }] },
      { shape: [7, 5], grid: [1, 3], axes: [{ kind: 'block' as const }, { kind: 'cyclic' as const }] },
      { shape: [10], grid: [3], axes: [{ kind: 'block-cyclic' as const, blockSize: 2 }] },
    ];
    const saves = [[specs[0]!, 'float64'], [specs[1]!, 'int64'], [specs[2]!, 'float32'], [specs[0]!, 'bool'], [specs[1]!, 'uint16']] as const;
    const paths = saves.map(() => fresh('.npy'));
    for (const [k, [spec, dtype]] of saves.entries()) await callAll(backend, 3, F, 'saveNpyCheck', [paths[k], spec, dtype], kT);
    // numpy writes: C order, big-endian, Fortran order, a v2.0 header (one python run for all).
    const made = ["np.arange(24, dtype='<i4').reshape(4, 6)", "np.arange(10, dtype='>f8')", "np.asfortranarray(np.arange(12, dtype='<i2').reshape(3, 4))", "np.arange(9, dtype='<u1').reshape(9, 1)"];
    const inputs = made.map(() => fresh('.npy'));
    const v2 = fresh('.npy');
    const lines = py([
      'import numpy as np, json', 'from numpy.lib import format as fmt',
      ...paths.map((p) => `a = np.load('${p}'); print(json.dumps([str(a.dtype), list(a.shape), [int(x) for x in a.ravel()]]))`),
      ...made.map((e, k) => `np.save('${inputs[k]}', ${e}); print(json.dumps(list(np.load('${inputs[k]}').shape)))`),
      `fh = open('${v2}', 'wb'); fmt.write_array(fh, np.arange(6.0), version=(2, 0)); fh.close()`,
    ].join('\n')).trim().split('\n').map((l) => JSON.parse(l));
    saves.forEach(([spec, dtype], k) => {
      const want = Array.from({ length: spec.shape.reduce((a, b) => a * b, 1) }, (_, i) => {
        const v = spec.shape.length === 1 ? i % 100 : (Math.floor(i / spec.shape[1]!) * 7 + (i % spec.shape[1]!)) % 100;
        return dtype === 'bool' ? v & 1 : v;
      });
      expect(lines[k]).toEqual([dtype, spec.shape, want]);
    });
    const dtypes = ['int32', 'float64', 'int16', 'uint8'];
    for (const [k, path] of inputs.entries()) {
      const shape = lines[saves.length + k] as number[];
      for (const [p, spec] of [[2, null], [3, shape.length === 2 ? { shape, grid: [1, 3], axes: [{ kind: 'block' }, { kind: 'cyclic' }] } : null]] as const) {
        const res = await callAll<{ shape: number[]; dtype: string; values: number[] | null }>(backend, p, F, 'loadNpyCheck', [path, spec], kT);
        expect(res[0]!.shape).toEqual(shape);
        expect(res[0]!.dtype).toBe(dtypes[k]);
        expect(res[0]!.values).toEqual(Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, (_, i) => i));
      }
    }
    const res = await callAll<{ values: number[] | null }>(backend, 2, F, 'loadNpyCheck', [v2, null], kT);
    expect(res[0]!.values).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

it('no temporary files are left behind', () => {
  expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.tmp')) : []).toEqual([]);
});
