// Imported first by every bench: runs the bench under the same glibc malloc settings the
// `superstep` command gives its ranks (util/malloc-tuning.ts), so the figures are a user's.
import { reexecWithMallocTuning } from '../util/malloc-tuning.js';

const code = await reexecWithMallocTuning();
if (code !== undefined) process.exit(code);
