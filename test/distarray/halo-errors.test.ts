// A halo wider than a block is an ArgumentError from withHalo (and the factories' `halo`
// option) naming the axis, the width and the smallest block, with the rank, on every rank and
// at every P, periodic or not (#13 item 8): it used to come from exchangeHalos without the
// rank, and at P = 1 a too-wide fixed halo was accepted.
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';

afterAll(closeWorlds);

describe.each(backends())('halo widths on %s', (backend) => {
  it('too wide: an ArgumentError on every rank (P = 1, 2, 3; 1-D and 2-D; fixed and periodic)', async () => {
    for (const p of backend === 'sab' ? [1, 2, 3] : [2, 3]) {
      for (const periodic of [false, true]) {
        // Axis 0 in blocks of at least 2 rows (4 over 2, 7 over 3: 3, 2, 2); at P = 1, 4 or 7 rows.
        const rows = p === 3 ? 7 : 4;
        const smallest = Math.floor(rows / p);
        for (const grid2d of [false, true]) {
          const shape = grid2d ? [rows, 3] : [rows];
          const wide = await callAll<string>(backend, p, 'typed-errors.ts', 'haloWidth', [shape, smallest + 1, periodic, grid2d]);
          wide.forEach((w, r) => {
            expect(w, `P = ${p}, shape [${shape}], periodic ${periodic}, rank ${r}`).toMatch(
              new RegExp(`^ArgumentError: \\[rank ${r}\\] invalid argument\\. \`halo\` must be at most ${smallest} .*along axis 0 the smallest block \\(rank \\d\\'s\\) has ${smallest} elements.*Value: \`${smallest + 1}\``),
            );
          });
          // 3 columns: a width of 4 would be too wide along axis 1.
          if (grid2d && smallest > 3) continue;
          const fits = await callAll<string>(backend, p, 'typed-errors.ts', 'haloWidth', [shape, smallest, periodic, grid2d]);
          expect(fits, `width ${smallest} fits, P = ${p}`).toEqual(fits.map(() => 'ok'));
        }
      }
    }
  });
});
