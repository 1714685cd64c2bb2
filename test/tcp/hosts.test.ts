// --hosts FILE: hostfile parsing, rank placement, the remote command, and a real run through a
// stand-in for ssh that runs the remote command on this host.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { parseHostfile, placeRanks, rankCommand, shellQuote } from '../../core/launch/hosts.js';
import { runProcs } from './procs.js';

// Starting processes is slow on a loaded 2-core machine; each test bounds its own processes.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('--hosts', () => {
  it('parses host[:slots] lines, mpirun-style slots=N, comments and blanks', () => {
    expect(parseHostfile('# cluster\nnode1:4\n\nnode2 slots=2\nnode3\n[fe80::1]:2  # v6\n')).toEqual([
      { host: 'node1', slots: 4 },
      { host: 'node2', slots: 2 },
      { host: 'node3', slots: 1 },
      { host: 'fe80::1', slots: 2 },
    ]);
    expect(() => parseHostfile('node1:0')).toThrow(/hosts line 1.*Value: `node1:0`/);
    expect(() => parseHostfile('a b c')).toThrow(/hosts line 1/);
    expect(() => parseHostfile('# nothing\n')).toThrow(/at least one host/);
  });

  it('fills each host’s slots in order, and refuses more ranks than slots', () => {
    const hosts = parseHostfile('a:2\nb:1\nc:3');
    expect(placeRanks(hosts, 5)).toEqual(['a', 'a', 'b', 'c', 'c']);
    expect(() => placeRanks(hosts, 7)).toThrow(/at most 6/);
  });

  it('builds an ssh command that passes rank, size and coordinator, and reads the secret from stdin', () => {
    const cmd = rankCommand({ rsh: ['ssh', '-o', 'BatchMode=yes'], host: 'node2', rank: 3, size: 8, coord: 'head:7650', cwd: "/home/me/my job", node: '/usr/bin/node', argv: ['--import', 'tsx', 'job.ts', "it's"] });
    expect(cmd.slice(0, 4)).toEqual(['ssh', '-o', 'BatchMode=yes', 'node2']);
    expect(cmd[4]).toBe(
      `cd '/home/me/my job' && read -r SUPERSTEP_SECRET && export SUPERSTEP_SECRET && exec env SUPERSTEP_RANK=3 SUPERSTEP_SIZE=8 SUPERSTEP_COORD=head:7650 SUPERSTEP_COORD_EXTERNAL=1 /usr/bin/node --import tsx job.ts 'it'\\''s'`,
    );
    expect(cmd.join(' ')).not.toMatch(/SECRET=/);
    expect(shellQuote('a b')).toBe(`'a b'`);
  });

  it('superstep run --backend tcp --hosts FILE starts every rank through the remote shell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'superstep-hosts-'));
    const file = join(dir, 'hosts');
    writeFileSync(file, 'localhost:2\n127.0.0.1:2\n');
    const env = { SUPERSTEP_RSH: `sh ${join(root, 'test/fixtures/fake-rsh.sh')}` };
    const [ok, bad] = await runProcs(
      [
        { argv: ['bin/superstep.mjs', 'run', '-n', '4', '--backend', 'tcp', '--hosts', file, 'examples/hello.ts'], env },
        { argv: ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'tcp', '--hosts', file, 'test/fixtures/throw-on-2.ts'], env },
      ],
      90_000,
      root,
    );
    expect(ok!.code, ok!.stderr).toBe(0);
    for (let k = 0; k < 4; k++) expect(ok!.stdout).toContain(`hello from rank ${k} of 4`);
    expect(bad!.code).not.toBe(0);
    expect(bad!.stderr).toMatch(/boom on rank 2/);
  });
});
