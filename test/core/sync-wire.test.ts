// The bsp.sync header (core/sync-wire.ts): what is written is what is read, for any package
// names, dtypes, shapes, DRMA requests, pass phrases and profile figures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTYPES } from '../../util/dtype.js';
import { HeaderWriter, phraseBytes, phraseText, readHeader, samePhrase } from '../../core/sync-wire.js';

const pkgArb = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
  kind: fc.constantFrom('object' as const, 'array' as const),
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { maxLength: 4 }),
  byteLength: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
}).map((p) => (p.kind === 'object' ? { ...p, dtype: undefined, shape: undefined } : p));
const opArb = fc.record({ name: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }), offset: fc.integer({ min: 0, max: 2 ** 40 }), size: fc.integer({ min: 0, max: 2 ** 32 }) });

describe('sync header', () => {
  it('round-trips packages, puts, gets, phrase and profile (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.option(fc.string({ maxLength: 30, unit: 'grapheme' }), { nil: undefined }),
        fc.option(fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true }), fc.double({ noNaN: true }), fc.double({ noNaN: true })), { nil: undefined }),
        fc.array(pkgArb, { maxLength: 5 }),
        fc.array(opArb, { maxLength: 3 }),
        fc.array(opArb, { maxLength: 3 }),
        (step, phrase, profile, pkgs, puts, gets) => {
          const w = new HeaderWriter();
          const putOps = puts.map((u) => ({ name: u.name, offset: u.offset, bytes: { byteLength: u.size } as Uint8Array }));
          // Written twice: the second write reuses the buffer and must not keep stale bytes.
          w.write(step + 1, phraseBytes('other phrase, longer than most'), [1, 2, 3, 4], pkgs.concat(pkgs), putOps.concat(putOps), gets.map((g) => ({ name: g.name, offset: g.offset, count: g.size })));
          const bytes = w.write(step, phraseBytes(phrase), profile, pkgs, putOps, gets.map((g) => ({ name: g.name, offset: g.offset, count: g.size })));
          expect(bytes.byteLength % 8).toBe(0);
          const h = readHeader(bytes.slice(), 1, 0);
          expect(h.superstep).toBe(step);
          expect(phraseText(h.phrase)).toBe(phrase ?? null);
          expect(h.profile).toEqual(profile);
          expect(h.packages).toEqual(pkgs.map((p) => ({ ...p, shape: p.shape ? [...p.shape] : undefined })));
          expect(h.puts).toEqual(puts);
          expect(h.gets).toEqual(gets);
          expect(h.payloadOffset).toBe(bytes.byteLength);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells an empty phrase from none, and compares phrases by their bytes', () => {
    expect(samePhrase(phraseBytes(''), phraseBytes(undefined))).toBe(false);
    expect(samePhrase(phraseBytes('x'), new TextEncoder().encode('x'))).toBe(true);
    expect(samePhrase(phraseBytes('x'), phraseBytes('y'))).toBe(false);
    expect(samePhrase(undefined, undefined)).toBe(true);
  });

  it('rejects bytes that are not a header, naming the source rank', () => {
    expect(() => readHeader(new Uint8Array(8), 3, 0)).toThrow(/from rank 3: 8 bytes, shorter than a header/);
    const bytes = new HeaderWriter().write(0, undefined, undefined, [{ name: 'a', kind: 'array', dtype: 'float64', shape: [2], byteLength: 16 }], [], []).slice();
    new DataView(bytes.buffer).setUint32(0, bytes.byteLength + 8, true);
    expect(() => readHeader(bytes, 2, 1)).toThrow(/from rank 2: header length/);
    new DataView(bytes.buffer).setUint32(0, 32, true);
    expect(() => readHeader(bytes, 2, 1)).toThrow(/header truncated/);
  });
});
