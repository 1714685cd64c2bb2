import './tuned.js';
// Peak memory of ONE read in a fresh process (bench/io.bench.ts runs it as a child), so that
// no memory an earlier read freed (and the allocator kept) hides what a read needs:
//   node --import tsx bench/io-peak.ts arrow <file>       apache-arrow: tableFromIPC(readFileSync(file))
//   node --import tsx bench/io-peak.ts ranks <file> <P>   readArrow(file) on P sab ranks
// Each reads a small file of the same schema first (modules loaded, code compiled), then resets
// the peak RSS mark (/proc/self/clear_refs) and reads `file`. Prints {"peakBytes": n}: the
// peak RSS during the read over the RSS right before it, -1 where the kernel has no reset.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { startWorld } from '../core/launch/world.js';
import { benchTable, procBytes } from './io-ranks.js';

const [mode, file, procs] = process.argv.slice(2);
if ((mode !== 'arrow' && mode !== 'ranks') || !file) throw new Error('usage: io-peak.ts arrow <file> | ranks <file> <P>');
const warm = join(tmpdir(), `superstep-io-peak-${process.pid}.arrow`);
writeFileSync(warm, tableToIPC(benchTable(0, 4096), 'file'));
try {
  let peakBytes = -1;
  if (mode === 'arrow') {
    if (tableFromIPC(readFileSync(warm)).numRows !== 4096) throw new Error('warm-up read failed');
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      const base = procBytes('VmRSS');
      const t = tableFromIPC(readFileSync(file));
      peakBytes = procBytes('VmHWM') - base;
      if (t.numRows <= 0) throw new Error('apache-arrow read no rows');
    } catch (err) {
      process.stderr.write(`peak RSS not measured: ${(err as Error).message}\n`);
    }
  } else {
    const w = await startWorld({ procs: Number(procs), backend: 'sab', graceMs: 2000 });
    try {
      const url = new URL('./io-ranks.ts', import.meta.url).href;
      const out = await w.job<number>({ kind: 'call', url, fn: 'readPeak', args: [file, warm] }, { timeoutMs: 120_000 });
      if (!out.ok) throw new Error(`readPeak failed: ${out.failure?.error.message}`);
      peakBytes = out.results![0]!;
    } finally {
      await w.close();
    }
  }
  console.log(JSON.stringify({ peakBytes }));
} finally {
  rmSync(warm, { force: true });
}
