/**
 * A log that a flood cannot turn into a disk full: at most `burst` lines per interval go
 * through; the rest are counted, and one line per interval says how many were left out.
 */
export interface RateLimitOptions {
  /** Lines passed through per interval (default 5). */
  burst?: number;
  /** The interval, in ms (default 10000). */
  intervalMs?: number;
  /** Says what the left-out lines were, e.g. "refused connections". */
  what?: string;
  now?: () => number;
}

export function rateLimited(log: (line: string) => void, prefix: string, options: RateLimitOptions = {}): (line: string) => void {
  const burst = options.burst ?? 5;
  const interval = options.intervalMs ?? 10_000;
  const what = options.what ?? 'similar lines';
  const now = options.now ?? Date.now;
  let start = now();
  let passed = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (dropped > 0) log(`${prefix}${dropped} more ${what} in the last ${Math.round((now() - start) / 1000)} s (not logged one by one)`);
    dropped = 0;
    passed = 0;
    start = now();
  };
  return (line: string) => {
    if (now() - start >= interval) flush();
    if (passed < burst) {
      passed++;
      log(line);
      return;
    }
    dropped++;
    if (!timer) {
      timer = setTimeout(flush, Math.max(0, interval - (now() - start)));
      timer.unref();
    }
  };
}
