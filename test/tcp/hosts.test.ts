// --hosts FILE: hostfile parsing, rank placement, the remote command, and a real run through a
// stand-in for ssh that runs the remote command on this host.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { parseHostfile, placeRanks, rankCommand, shellQuote } from '../../comm/backends/tcp/hosts.js';
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

  it('builds an ssh command whose quoting survives the remote shell, with the secret on stdin only', async () => {
    const cwd = mkdtempSync(join(tmpdir(), "superstep it's a dir "));
    // `node` stands in as sh printing what it got, so the round trip through two shells is visible.
    const cmd = rankCommand({ rsh: ['ssh', '-o', 'BatchMode=yes'], host: 'node2', rank: 3, size: 8, coord: 'head:7650', cwd, node: '/bin/sh', argv: ['-c', 'printf "%s|" "$PWD" "$SUPERSTEP_RANK" "$SUPERSTEP_SIZE" "$SUPERSTEP_COORD" "$SUPERSTEP_SECRET" "$X" "$@"', 'zero', "it's", 'a b', '$HOME'], env: { X: 'x "y" $z' } });
    expect(cmd.slice(0, 4)).toEqual(['ssh', '-o', 'BatchMode=yes', 'node2']);
    expect(cmd).toHaveLength(5);
    expect(cmd.join(' ')).not.toMatch(/SECRET=/);
    // What ssh does with the last word: hand it to the remote login shell. Stdin stays open,
    // as the launcher keeps it: its EOF would end the rank.
    const sh = spawn('sh', ['-c', cmd[4]!], { stdio: ['pipe', 'pipe', 'inherit'] });
    sh.stdin.write('s3cret\n');
    let out = '';
    sh.stdout.on('data', (d) => (out += d));
    const t = setTimeout(() => sh.kill('SIGKILL'), 20_000);
    expect(await new Promise((r) => sh.once('close', r))).toBe(0);
    clearTimeout(t);
    sh.stdin.destroy();
    expect(out).toBe(`${cwd}|3|8|head:7650|s3cret|x "y" $z|it's|a b|$HOME|`);
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
