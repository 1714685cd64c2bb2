/**
 * Lazy scans: a LazyFrame (distarray/frame-lazy.ts) whose source is a file, planned from the
 * file's footer alone, so the optimiser can narrow what is read: only the columns the plan
 * uses, and for Parquet only the row groups a pushed filter can match (readParquet's `filter`).
 * Arrow IPC batches are read whole: a pushed filter is applied right after the read.
 */
import { ArgumentError } from '../util/errors.js';
import { world } from '../comm/comm.js';
import { LazyFrame, type ScanSource } from '../distarray/frame-lazy.js';
import { arrowMeta, readArrow } from './arrow.js';
import { parquetMeta, readParquet } from './parquet.js';

/**
 * Collective: a lazy plan reading the Arrow IPC file (or dataset directory) at `path`; its
 * footer is read now, its batches at `collect()`.
 * @example const lf = (await scanArrow('sales.arrow')).filter(col('amount').gt(100)).select('region', 'amount');
 */
export async function scanArrow(path: string): Promise<LazyFrame> {
  checkPath(path);
  const { schema, rows } = await arrowMeta(path);
  const source: ScanSource = {
    format: 'arrow', path, schema, rows,
    async read(columns, filter) {
      let f = await readArrow(path);
      if (filter) f = f.filter(filter);
      return columns ? f.select(columns) : f;
    },
  };
  return new LazyFrame({ kind: 'scan', source });
}

/**
 * Collective: a lazy plan reading the Parquet file (or directory) at `path`; its footers are
 * read now, its pages at `collect()` (only the columns used; a pushed filter prunes row groups).
 */
export async function scanParquet(path: string): Promise<LazyFrame> {
  checkPath(path);
  const { schema, rows } = await parquetMeta(path);
  const source: ScanSource = {
    format: 'parquet', path, schema, rows,
    read: (columns, filter) => readParquet(path, { columns, filter }),
  };
  return new LazyFrame({ kind: 'scan', source });
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new ArgumentError('path', 'a file or directory path', path, world.rank);
}
