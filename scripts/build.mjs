// `npm run build`: compiles the library into dist/ (tsconfig.build.json), copies the files tsc
// does not (the rank threads' module hooks, plain JavaScript), and writes the CommonJS entry
// that explains how to load an ES module. Run by `npm pack` / `npm publish` (prepack).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
for (const f of ['comm/backends/sab/ts-hooks.mjs', 'comm/backends/mpi/addon.c']) {
  mkdirSync(dirname(join(dist, f)), { recursive: true });
  copyFileSync(join(root, f), join(dist, f));
}
writeFileSync(
  join(dist, 'require.cjs'),
  `'use strict';\n// require('superstep'): the package is ESM only.\n` +
    `throw new Error("superstep is an ES module and cannot be require()d: use \`import { bsp } from 'superstep'\` (with \\"type\\": \\"module\\" or a .mjs file), or \`const { bsp } = await import('superstep')\` from CommonJS.");\n`,
);
