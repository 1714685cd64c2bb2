import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // In the repository the package's own name means its sources (its exports name the built dist/).
  resolve: { alias: [{ find: /^superstep$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Multi-rank tests start threads and processes: keep files from competing for 2 cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
