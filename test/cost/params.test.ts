import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { paramsKey, paramsPath, readParamsFile, resolveFrom, resolveParams, saveParams, type ParamsEntry } from '../../core/cost/params.js';
import { predictWith } from '../../core/cost/predict.js';
import { ArgumentError } from '../../util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-params-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (p: number, l: number, g = 1.4e-9, host = 'h1', backend = 'sab'): ParamsEntry => ({ host, backend, p, g, l, r: 2e9, measuredAt: '2026-11-24T00:00:00.000Z' });

describe('params file', () => {
  it('round-trips entries keyed by host, backend and P', () => {
    const path = join(dir, 'a', 'params.json');
    expect(readParamsFile(path)).toEqual({});
    expect(saveParams(entry(2, 1.5e-6), path)).toBe('h1/sab/2');
    saveParams(entry(4, 3e-6), path);
    saveParams(entry(2, 9e-6, 5e-9, 'h1', 'tcp'), path);
    saveParams(entry(2, 2e-6), path); // replaces h1/sab/2
    const all = readParamsFile(path);
    expect(Object.keys(all).sort()).toEqual(['h1/sab/2', 'h1/sab/4', 'h1/tcp/2']);
    expect(all['h1/sab/2']!.l).toBe(2e-6);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
    expect(resolveParams(4, 'sab', 'h1', path)).toMatchObject({ l: 3e-6, g: 1.4e-9, r: 2e9, source: 'measured', from: [4] });
    expect(resolveParams(2, 'tcp', 'h1', path)).toMatchObject({ l: 9e-6, g: 5e-9, source: 'measured' });
    expect(resolveParams(2, 'sab', 'other-host', path)).toBeUndefined();
    expect(paramsKey('h', 'tcp', 8)).toBe('h/tcp/8');
  });

  it('uses $SUPERSTEP_PARAMS', () => {
    const old = process.env.SUPERSTEP_PARAMS;
    process.env.SUPERSTEP_PARAMS = join(dir, 'env.json');
    try {
      expect(paramsPath()).toBe(join(dir, 'env.json'));
    } finally {
      if (old === undefined) delete process.env.SUPERSTEP_PARAMS;
      else process.env.SUPERSTEP_PARAMS = old;
    }
  });

  it('rejects a corrupt file and bad entries with ArgumentError', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => readParamsFile(bad)).toThrow(ArgumentError);
    writeFileSync(bad, '[1, 2]');
    expect(() => readParamsFile(bad)).toThrow(/entries/);
    expect(() => saveParams({ ...entry(2, 1e-6), g: -1 }, join(dir, 'x.json'))).toThrow(/entry\.g/);
    expect(() => resolveParams(0, 'sab', 'h1', join(dir, 'x.json'))).toThrow(/`p` must be a positive integer/);
  });

  it('extrapolates l and g on log2 P (test/cost/extrapolate.test.ts has the model)', () => {
    const es = [entry(2, 2e-6, 1e-9), entry(4, 4e-6, 2e-9)];
    const r8 = resolveFrom(es, 8, 'sab', 'h1')!;
    expect(r8.source).toBe('extrapolated');
    expect(r8.l).toBeCloseTo(6e-6, 12);
    expect(r8.g).toBeCloseTo(3e-9, 18);
    expect(r8.from).toEqual([2, 4]);
    expect(resolveFrom(es, 3, 'sab', 'h1')!.l).toBeCloseTo(2e-6 * Math.log2(3), 12);
    // One measured P: l scales with (1 + log2 P) / (1 + log2 P0), g stays.
    const r16 = resolveFrom([entry(2, 2e-6)], 16, 'sab', 'h1')!;
    expect(r16.l).toBeCloseTo(5e-6, 12);
    expect(r16.g).toBe(1.4e-9);
    expect(resolveFrom(es, 8, 'tcp', 'h1')).toBeUndefined();
  });
});

describe('predict arithmetic', () => {
  const params = { g: 2e-9, l: 1e-5, r: 1e9 };
  it('sums w / r + g·h + l over supersteps', () => {
    const p = predictWith({ w: 1e6, h: 1000, supersteps: 10 }, params);
    expect(p.compute).toBeCloseTo(10 * 1e-3, 12);
    expect(p.communication).toBeCloseTo(10 * 2e-6, 12);
    expect(p.synchronisation).toBeCloseTo(10 * 1e-5, 12);
    expect(p.seconds).toBeCloseTo(1e-2 + 2e-5 + 1e-4, 12);
    expect(p.supersteps).toBe(10);
    expect(p.params.source).toBe('given');
  });
  it('takes per-superstep arrays, and w in seconds', () => {
    const p = predictWith({ wSeconds: [1e-3, 2e-3], h: [0, 5000] }, params);
    expect(p.supersteps).toBe(2);
    expect(p.seconds).toBeCloseTo(3e-3 + 1e-5 + 2e-5, 12);
    expect(predictWith({}, params).seconds).toBeCloseTo(1e-5, 12); // one empty superstep costs l
    expect(predictWith({ h: 100, supersteps: 0 }, params).seconds).toBe(0);
  });
  it('takes bytes touched (at b) and per-superstep counts (steps)', () => {
    const pb = { ...params, b: 4e9 };
    expect(predictWith({ wBytes: 4e6, h: 0 }, pb).compute).toBeCloseTo(1e-3, 12);
    const p = predictWith({ steps: [{ flops: 1e6, h: 1000 }, { bytes: 8e6, h: 0 }] }, pb);
    expect(p.supersteps).toBe(2);
    expect(p.compute).toBeCloseTo(1e-3 + 2e-3, 12);
    expect(p.communication).toBeCloseTo(2e-6, 12);
    expect(p.seconds).toBeCloseTo(3e-3 + 2e-6 + 2e-5, 12);
    expect(predictWith({ steps: [] }, pb).seconds).toBe(0);
    expect(() => predictWith({ wBytes: 1 }, params)).toThrow(/params\.b.*superstep probe/);
    expect(() => predictWith({ steps: [{ h: 1 }], h: 1 }, pb)).toThrow(/`steps` must be given alone/);
    expect(() => predictWith({ steps: [{ h: -1 }] }, pb)).toThrow(/steps\[0\]\.h/);
    expect(() => predictWith({ steps: [{ h: 1 }], supersteps: 2 }, pb)).toThrow(/supersteps/);
  });
  it('rejects bad input with ArgumentError naming the argument', () => {
    expect(() => predictWith({ h: [1, 2], supersteps: 3 }, params)).toThrow(/`h` must be one value per superstep \(3\)/);
    expect(() => predictWith({ h: -1 }, params)).toThrow(/`h` must be finite numbers >= 0/);
    expect(() => predictWith({ w: 1, wSeconds: 1 }, params)).toThrow(ArgumentError);
    expect(() => predictWith({ supersteps: 1.5 }, params)).toThrow(/supersteps/);
    expect(() => predictWith({ h: 1 }, { g: NaN, l: 0, r: 0 })).toThrow(/params\.g/);
    expect(() => predictWith({ w: 10 }, { g: 0, l: 0, r: 0 })).toThrow(/params\.r/);
    expect(() => predictWith({ h: 'x' as unknown as number }, params)).toThrow(ArgumentError);
  });
});
