// #22 item 4: a rank that dies mid-write (SIGKILL on tcp, process.exit on sab and tcp), each
// rank in turn, leaves no temporary file next to the target, and the target as it was; the
// next write of a path removes what a job whose every rank died left behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-tmpfiles-'));
afterAll(async () => {
  await closeWorlds();
  rmSync(dir, { recursive: true, force: true });
});
const F = 'io.ts';
let seq = 0;
const kinds = ['npy', 'arrow', 'raw'] as const;
const ext = { npy: '.npy', arrow: '.arrow', raw: '.bin' };
const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe.each(backends())('%s', (backend) => {
  const hows = backend === 'tcp' ? (['kill', 'exit', 'kill'] as const) : (['exit', 'exit', 'exit'] as const);
  for (let victim = 0; victim < 3; victim++) {
    const kind = kinds[victim]!;
    const how = hows[victim]!;
    it(`rank ${victim} ${how === 'kill' ? 'SIGKILLed' : 'calling process.exit'} mid-${kind} write: no temp file, the target intact`, async () => {
      const path = join(dir, `t${seq++}${ext[kind]}`);
      await callAll(backend, 3, F, 'faultyWrite', [path, kind, -1, 'throw'], 60_000);
      const before = readFileSync(path);
      const out = await tryCall(backend, 3, F, 'faultyWrite', [path, kind, victim, how], 60_000);
      expect(out.ok).toBe(false);
      expect(out.failure?.rank).toBe(victim);
      expect(out.statuses.every((s) => s.state !== 'timeout')).toBe(true);
      expect(readFileSync(path)).toEqual(before);
      expect(temps()).toEqual([]);
    });
  }
});

describe('the next write of a path', () => {
  it('removes temporary files a dead process left, and keeps a live one\'s', async () => {
    const path = join(dir, 'next.npy');
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40) || 'host';
    // A pid that is not running: the largest pid Linux hands out, plus one.
    const dead = join(dir, `.next.npy.${host}.4194305.0123456789ab.tmp`);
    const live = join(dir, `.next.npy.${host}.${process.pid}.ba9876543210.tmp`);
    writeFileSync(dead, 'left by a job whose every rank died');
    writeFileSync(live, 'a write in progress in a live process');
    await callAll(backends()[0]!, 2, F, 'faultyWrite', [path, 'npy', -1, 'throw'], 60_000);
    expect(temps()).toEqual([live.slice(dir.length + 1)]);
    rmSync(live);
  });
});
