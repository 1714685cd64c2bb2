// The user's first hour (issue 14): the package as npm would ship it, installed into a fresh
// project outside the repository, offline (the tarballs come from the npm cache that `npm ci`
// filled, through a lockfile made from this repository's), then used as a newcomer would:
// plain `node` on a JS script, `npx superstep run -n 3` on a JS and a TS script, `tsc --strict`
// on the TS script (superstep's .d.ts only, skipLibCheck off), and `require` failing clearly.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string; dependencies: Record<string, string> };
const kMaxInstallMB = 60;
const dir = mkdtempSync(join(tmpdir(), 'superstep-first-hour-'));
const tgz = `superstep-${pkg.version}.tgz`;

function sh(command: string, args: string[], timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout, killSignal: 'SIGKILL', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function treeBytes(path: string): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

const hello = `import { bsp, world, SUM } from 'superstep';
const me = bsp.myProcID(), p = bsp.procCount();
bsp.fromArray(Float64Array.of(me), 'x');
bsp.toProc((me + 1) % p, 'x');
await bsp.sync();
const got = bsp.toArray(bsp.fromProc((me + p - 1) % p)['x']);
const total = await world.allreduceObject(me, SUM);
console.log(\`rank \${me}/\${p}: got \${got[0]}, sum \${total}\`);
`;
const helloTs = `import { bsp, world, SUM, type NDArray, type Package } from 'superstep';
const me: number = bsp.myProcID();
const p = bsp.procCount();
bsp.fromArray(Float64Array.of(me), 'x');
bsp.toProc((me + 1) % p, 'x');
await bsp.sync();
const pkg: Package | undefined = bsp.fromProc((me + p - 1) % p)['x'];
if (!pkg) throw new Error('no package x');
const got = bsp.toArray<Float64Array>(pkg);
const total = await world.allreduceObject(me, SUM);
const view: NDArray | undefined = undefined;
console.log(\`rank \${me}/\${p}: got \${got[0]}, sum \${total}\${view ?? ''}\`);
`;

describe('the first hour: npm pack, install outside the repository, run', () => {
  const figures: Record<string, number> = {};
  beforeAll(() => {
    let t = Date.now();
    const packed = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: root, encoding: 'utf8', timeout: 600_000, killSignal: 'SIGKILL' });
    if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
    figures.pack_s = (Date.now() - t) / 1000;
    const bytes = readFileSync(join(dir, tgz));
    figures.tarball_kB = bytes.length / 1024;
    // A lockfile for the fresh project: superstep from the tarball, its dependencies as this
    // repository's lockfile pins them (every entry not marked dev), so `npm ci --offline` finds
    // every tarball in the cache.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const me = lock.packages['']! as Record<string, unknown>;
    const packages: Record<string, unknown> = {
      '': { name: 'first-hour', version: '1.0.0', dependencies: { superstep: `file:${tgz}` } },
      'node_modules/superstep': {
        version: pkg.version, resolved: `file:${tgz}`, integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        license: me.license, dependencies: me.dependencies, bin: me.bin, engines: me.engines, peerDependencies: me.peerDependencies, peerDependenciesMeta: me.peerDependenciesMeta,
      },
    };
    for (const [k, v] of Object.entries(lock.packages)) if (k.startsWith('node_modules/') && !v.dev) packages[k] = v;
    // The user's own devDependency for TypeScript on Node: @types/node (this repository's pin).
    const types = lock.packages['node_modules/@types/node'] as { version: string; dependencies?: Record<string, string> };
    const devDependencies = { '@types/node': types.version };
    for (const k of ['@types/node', ...Object.keys(types.dependencies ?? {})]) packages[`node_modules/${k}`] ??= lock.packages[`node_modules/${k}`];
    (packages[''] as Record<string, unknown>).devDependencies = devDependencies;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'first-hour', version: '1.0.0', private: true, type: 'module', dependencies: { superstep: `file:${tgz}` }, devDependencies }, null, 2));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'first-hour', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    t = Date.now();
    sh('npm', ['ci', '--offline'], 300_000);
    figures.install_s = (Date.now() - t) / 1000;
    // superstep's own install: without the user's @types/node.
    figures.node_modules_MB = (treeBytes(join(dir, 'node_modules')) - treeBytes(join(dir, 'node_modules/@types/node'))) / 2 ** 20;
    writeFileSync(join(dir, 'hello.mjs'), hello);
    writeFileSync(join(dir, 'hello.ts'), helloTs);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2024'], types: ['node'], noEmit: true }, files: ['hello.ts'] }));
  }, 1_000_000); // about 40 s on a quiet machine (the build is most of it); the bounds are for a loaded one
  afterAll(() => {
    console.log(`first hour: ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, +v.toFixed(2)])))}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`ships dist/ (JS, .d.ts, maps), the command, README and LICENSE, and no tests, benches or sources; installs in <= ${kMaxInstallMB} MB`, () => {
    const files = sh('tar', ['tzf', tgz]).stdout.trim().split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/index.js.map');
    expect(files).toContain('package/bin/superstep.mjs');
    expect(files).toContain('package/LICENSE');
    expect(files.filter((f) => /\/(test|bench|examples|\.ci|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    expect(figures.node_modules_MB).toBeLessThanOrEqual(kMaxInstallMB);
  });

  it('node script.mjs is a 1-rank job', () => {
    expect(sh(process.execPath, ['hello.mjs']).stdout.trim()).toBe('rank 0/1: got 0, sum 0');
  }, 300_000);

  it.each(['hello.mjs', 'hello.ts'])('npx superstep run -n 3 %s', (script) => {
    const out = sh('npx', ['--offline', 'superstep', 'run', '-n', '3', script]).stdout.trim().split('\n').sort();
    expect(out).toEqual(['rank 0/3: got 2, sum 3', 'rank 1/3: got 0, sum 3', 'rank 2/3: got 1, sum 3']);
  }, 300_000);

  it("tsc --noEmit --strict (exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck off): superstep's .d.ts are clean", () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', '.', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--skipLibCheck', 'false'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => /error TS/.test(l));
    expect(lines).toEqual([]);
  }, 300_000);

  it("require('superstep') says in one sentence that it is ESM and how to import it", () => {
    const r = spawnSync(process.execPath, ['-e', "require('superstep')"], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/superstep is an ES module and cannot be require\(\)d: use `import \{ bsp \} from 'superstep'`.*await import\('superstep'\)/);
  });
});
