#!/usr/bin/env node
// The superstep command. In the installed package the library is compiled JavaScript (dist/);
// in the repository, where nothing is built, its TypeScript sources load through tsx
// (SUPERSTEP_DIST=1 runs the built dist/ there, as the start-up bench does). Either way a
// user's TypeScript script is compiled by the launcher (core/launch/ts-compiler.ts).
import { existsSync } from 'node:fs';

const source = process.env.SUPERSTEP_DIST !== '1' && existsSync(new URL('../index.ts', import.meta.url));
if (source) (await import('tsx/esm/api')).register();
const lib = (path) => import(new URL(source ? `../${path}.ts` : `../dist/${path}.js`, import.meta.url).href);

const argv = process.argv.slice(2);
// A sab job of several ranks wants glibc to keep freed large buffers (util/malloc-tuning.ts),
// which glibc reads at start: re-execute with them. tcp ranks are given them directly.
const job = (await lib('core/launch/argv')).peekJob(argv);
const code = job && job.backend === 'sab' && job.procs > 1 ? await (await lib('util/malloc-tuning')).reexecWithMallocTuning() : undefined;
if (code !== undefined) process.exitCode = code;
else process.exitCode = await (await lib('core/launch/cli')).main(argv);
