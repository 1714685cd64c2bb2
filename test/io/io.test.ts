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
import { genTable, rowsOf, type Row } from '../fixtures/io.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-io-'));
afterAll(async () => {
  await closeWorlds();
  rmSync(dir, { recursive: true, force: true });
});

const F = 'io.ts';
const kT = 30_000;
const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const hasPyarrow = (() => {
  try {
    execFileSync('python3', ['-c', 'import pyarrow'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNumpy) console.log('numpy checks skipped: python3 cannot import numpy');
if (!hasPyarrow) console.log('pyarrow check skipped: python3 cannot import pyarrow (not installed here); apache-arrow reads every file instead');
const py = (code: string) => execFileSync('python3', ['-c', code], { encoding: 'utf8' });
let seq = 0;
const fresh = (ext: string) => join(dir, `f${seq++}${ext}`);

describe.each(backends())('parallel I/O on %s', (backend) => {
  it('writeArrow with P ranks, readArrow with Q ranks: the same table; apache-arrow reads the file unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat(1000), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.boolean(),
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
      { numRuns: backend === 'sab' ? 8 : 4 },
    );
  });

  it('a 2.5 MiB table: each reader reads only its share of the batches', async () => {
    const path = fresh('.arrow');
    await callAll(backend, 2, F, 'writeTable', [path, 5, 60_000, 4096, false], kT);
    const t = tableFromIPC(readFileSync(path));
    expect(t.numRows).toBe(60_000);
    expect(readFileSync(path).byteLength).toBeGreaterThan(2.5 * 2 ** 20);
    const res = await callAll<{ local: number; rows: Row[] | null }>(backend, 3, F, 'readTable', [path, false], kT);
    expect(res.map((r) => r.local).every((m) => m > 10_000 && m < 30_000)).toBe(true);
    expect(res[0]!.rows!.length).toBe(60_000);
    expect(res[0]!.rows![59_999]).toEqual(rowsOf(t.slice(59_999))[0]);
    if (hasPyarrow) expect(py(`import pyarrow as pa; print(pa.ipc.open_file('${path}').read_all().num_rows)`).trim()).toBe('60000');
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
    for (const [ext, b, kind, re] of cases) {
      const path = fresh(ext);
      writeFileSync(path, b);
      const res = await callAll<{ code: string; message: string } | null>(backend, 3, F, 'readBad', [path, kind], kT);
      for (const r of res) {
        expect(r?.code).toBe(kind === 'raw' ? 'ERR_FILE_FORMAT' : 'ERR_FILE_FORMAT');
        expect(r?.message).toMatch(re);
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
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 50 }), fc.constantFrom(...kinds), fc.constantFrom(...kinds), fc.constantFrom(0, 16), async (p, total, wk, rk, disp) => {
        const path = fresh('.bin');
        const res = await callAll<number[]>(backend, p, F, 'rawViews', [path, total, wk, rk, disp], kT);
        res.forEach(([bad]) => expect(bad).toBe(0));
        expect(res.reduce((s, [, n]) => s + n!, 0)).toBe(total);
        const f = new Float64Array(readFileSync(path).buffer.slice(disp));
        expect(Array.from(f)).toEqual(Array.from({ length: total }, (_, i) => i));
      }),
      { numRuns: backend === 'sab' ? 8 : 4 },
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
    for (const [spec, dtype] of [[specs[0], 'float64'], [specs[1], 'int64'], [specs[2], 'float32'], [specs[0], 'bool'], [specs[1], 'uint16']] as const) {
      const path = fresh('.npy');
      await callAll(backend, 3, F, 'saveNpyCheck', [path, spec, dtype], kT);
      const out = py(`import numpy as np; a = np.load('${path}'); print(a.dtype, list(a.shape), [int(x) for x in a.ravel()])`).trim();
      const want = Array.from({ length: spec.shape.reduce((a, b) => a * b, 1) }, (_, k) => {
        const v = spec.shape.length === 1 ? k % 100 : (Math.floor(k / spec.shape[1]!) * 7 + (k % spec.shape[1]!)) % 100;
        return dtype === 'bool' ? v & 1 : v;
      });
      const npName = { float64: 'float64', int64: 'int64', float32: 'float32', bool: 'bool', uint16: 'uint16' }[dtype];
      expect(out).toBe(`${npName} [${spec.shape.join(', ')}] [${want.join(', ')}]`);
    }
    // numpy writes: C order, big-endian, Fortran order, a v2.0 header.
    const made = [
      ["np.arange(24, dtype='<i4').reshape(4, 6)", 'int32'],
      ["np.arange(10, dtype='>f8')", 'float64'],
      ["np.asfortranarray(np.arange(12, dtype='<i2').reshape(3, 4))", 'int16'],
      ["np.arange(9, dtype='<u1').reshape(9, 1)", 'uint8'],
    ] as const;
    for (const [expr, dtype] of made) {
      const path = fresh('.npy');
      py(`import numpy as np; np.save('${path}', ${expr})`);
      const shape = JSON.parse(py(`import numpy as np; print(list(np.load('${path}').shape))`));
      for (const [p, spec] of [[2, null], [3, shape.length === 2 ? { shape, grid: [1, 3], axes: [{ kind: 'block' }, { kind: 'cyclic' }] } : null]] as const) {
        const res = await callAll<{ shape: number[]; dtype: string; values: number[] | null }>(backend, p, F, 'loadNpyCheck', [path, spec], kT);
        expect(res[0]!.shape).toEqual(shape);
        expect(res[0]!.dtype).toBe(dtype);
        expect(res[0]!.values).toEqual(Array.from({ length: shape.reduce((a: number, b: number) => a * b, 1) }, (_, i) => i));
      }
    }
    const v2 = fresh('.npy');
    py(`import numpy as np; from numpy.lib import format as f; a = np.arange(6.0)\nwith open('${v2}', 'wb') as fh:\n    f.write_array(fh, a, version=(2, 0))`);
    const res = await callAll<{ values: number[] | null }>(backend, 2, F, 'loadNpyCheck', [v2, null], kT);
    expect(res[0]!.values).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

it('no temporary files are left behind', () => {
  expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.tmp')) : []).toEqual([]);
});
