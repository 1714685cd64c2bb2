#!/usr/bin/env node
// The superstep command. TypeScript sources load through tsx, so neither the library nor a
// user's script needs a build step.
import { register } from 'tsx/esm/api';
register();
// Ranks want glibc to keep freed large buffers (util/malloc-tuning.ts); it reads that at start.
const { reexecWithMallocTuning } = await import('../util/malloc-tuning.ts');
const code = await reexecWithMallocTuning();
if (code !== undefined) process.exitCode = code;
else {
  const { main } = await import('../core/launch/cli.ts');
  process.exitCode = await main(process.argv.slice(2));
}
