// Typed errors of DistFrame and the parallel I/O (#13 item 8), on every rank, on sab and tcp:
// fromLocal with a rank holding no rows, corrupt Arrow IPC files, invalid arguments to the
// collective writes.
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';

afterAll(closeWorlds);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superstep-typed-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kGood = tableFromArrays({ x: Float64Array.from({ length: 40 }, (_, i) => i), s: ['a', 'b', 'c', 'd'].flatMap((v) => Array(10).fill(v)) as string[] });

/** Corrupt copies of one valid Arrow IPC file, each with what was done to it. */
async function corruptFiles(): Promise<{ path: string; how: string }[]> {
  const good = tableToIPC(kGood, 'file');
  const n = good.byteLength;
  const flen = new DataView(good.buffer, good.byteOffset + n - 10, 4).getInt32(0, true);
  const footer = n - 10 - flen;
  const out: { bytes: Uint8Array; how: string }[] = [];
  for (const cut of [4, 12, Math.floor(n / 2), n - 11, n - 6, n - 1]) out.push({ bytes: good.slice(0, cut), how: `truncated to ${cut} bytes` });
  // Every 7th byte of the footer and its length flipped (the schema's types are in there).
  for (let at = footer; at < n - 6; at += 7) {
    const b = good.slice();
    b[at] ^= 0xff;
    out.push({ bytes: b, how: `byte ${at} flipped (footer at ${footer})` });
  }
  for (const [at, what] of [[0, 'leading'], [n - 3, 'trailing']] as const) {
    const b = good.slice();
    b[at] = 0x58;
    out.push({ bytes: b, how: `wrong ${what} magic` });
  }
  for (const len of [n, n - 17, 2 ** 31 - 1, -5, flen + 8, flen - 8]) {
    const b = good.slice();
    new DataView(b.buffer).setInt32(n - 10, len, true);
    out.push({ bytes: b, how: `footer length ${len} (the real one ${flen}, file ${n} bytes)` });
  }
  return Promise.all(out.map(async ({ bytes, how }, i) => {
    const path = join(dir, `corrupt-${i}.arrow`);
    await writeFile(path, bytes);
    return { path, how };
  }));
}

describe.each(backends())('typed errors of frames and files on %s', (backend) => {
  it('DistFrame.fromLocal with a rank holding no rows: nullability merged, no SchemaMismatchError (P = 1, 2, 3)', async () => {
    for (const p of backend === 'sab' ? [1, 2, 3] : [2, 3]) {
      const got = await callAll<{ nullable: boolean[]; rows: number; sum: number }>(backend, p, 'typed-errors.ts', 'fromLocalEmptyRank', []);
      const want = Array.from({ length: p - 1 }, (_, r) => 3 * r * 10 + 3).reduce((a, b) => a + b, 0);
      for (const g of got) {
        expect(g.nullable, `P = ${p}`).toEqual(p > 1 ? [true, true] : got[0]!.nullable);
        expect(g.rows).toBe(3 * (p - 1));
      }
      expect(got[0]!.sum).toBe(want);
    }
    for (const r of await callAll<string>(backend, 2, 'typed-errors.ts', 'fromLocalTypeMismatch', [])) {
      expect(r).toMatch(/^SchemaMismatchError: .*different schemas: rank 0 has \{"x":Float64:null\}, rank 1 has \{"x":Int32:null\}/);
    }
  });

  it('a corrupt Arrow IPC file is a FileFormatError naming the file and the byte, on every rank (P = 1 and 3)', async () => {
    const files = await corruptFiles();
    const rows = `ok ${JSON.stringify(kGood.toArray().map((r) => Object.values(r.toJSON())))}`;
    for (const p of backend === 'sab' ? [1, 3] : [3]) {
      const got = await callAll<string[]>(backend, p, 'typed-errors.ts', 'readEach', [files.map((f) => f.path)], 60_000);
      files.forEach((f, i) => {
        // Arrow has no checksum: a flipped byte the reader does not depend on (padding, a
        // version field, a column's name) may still read the file, but then only its true values.
        const okToo = f.how.includes('flipped') && got[0]![i] === rows;
        for (let r = 0; r < p; r++) {
          if (okToo) expect(got[r]![i], `${f.how}, P = ${p}, rank ${r}`).toBe(rows);
          else expect(got[r]![i], `${f.how}, P = ${p}, rank ${r}`).toMatch(new RegExp(`^FileFormatError: \\[rank ${r}\\] ${f.path.replace(/[.]/g, '\\.')}: .*bytes? -?\\d+`));
        }
      });
      // Many flips are caught (19 of the 41 here; the rest read the true values).
      expect(files.filter((f, i) => f.how.includes('flipped') && got[0]![i]!.startsWith('FileFormatError')).length).toBeGreaterThanOrEqual(15);
    }
  }, 120_000);

  for (const on of ['all', 1] as const) {
    it(`invalid arguments to a collective write on ${on === 'all' ? 'every rank' : 'rank 1'}: ArgumentError there, in step after (P = 3)`, async () => {
      const got = await callAll<string[]>(backend, 3, 'typed-errors.ts', 'badWrites', [dir, on]);
      got.forEach((g, r) => {
        const mine = on === 'all' || on === r;
        const want = (arg: string) => (mine ? new RegExp(`^ArgumentError: \\[rank ${r}\\] invalid argument\\. \`${arg}\` must be`) : /^CollectiveArgumentError: .*rank 1 passed invalid arguments/);
        expect(g[0], `writeAtAll, rank ${r}`).toMatch(want('data'));
        expect(g[1], `writeArrow, rank ${r}`).toMatch(want('options.batchRows'));
        expect(g[2], `saveNpy, rank ${r}`).toMatch(want('a'));
        expect(g[3], `a valid writeAtAll after, rank ${r}`).toBe('ok');
      });
    });
  }
});
