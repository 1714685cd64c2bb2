#!/usr/bin/env node
// The superstep command. TypeScript sources load through tsx, so neither the library nor a
// user's script needs a build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../core/launch/cli.ts');
process.exitCode = await main(process.argv.slice(2));
