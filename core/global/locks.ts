/**
 * Locks of a global array: each owner keeps an Int32Array of lock words in shared memory.
 * A word holds 0 (free) or the holder's rank + 1. Element locks are striped (an element's
 * local offset modulo kLockStripes picks its word); one more word serialises `acc` on the
 * owner's block, so concurrent accumulates never lose an update; another counts writes, so
 * `fence()` has an atomic to synchronise with.
 */

/** Element-lock words per owner. */
export const kLockStripes = 64;
/** Word taken by `acc` while it combines into the owner's block. */
export const kAccWord = kLockStripes;
/** Word bumped (atomically) after every remote write, for memory ordering. */
export const kVersionWord = kLockStripes + 1;
/** Words per owner (padded to a cache line multiple). */
export const kLockWords = kLockStripes + 16;

/** Allocates an owner's lock words in shared memory. */
export function allocLocks(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(kLockWords * 4));
}

/** Spins briefly, then sleeps on the word with Atomics.waitAsync (never blocks the event loop). */
export async function acquireWord(words: Int32Array, word: number, holder: number, stillWanted: () => void = () => {}): Promise<void> {
  for (let i = 0; ; i++) {
    const prev = Atomics.compareExchange(words, word, 0, holder);
    if (prev === 0) return;
    stillWanted();
    if (i < 32) {
      await undefined;
      continue;
    }
    const w = Atomics.waitAsync(words, word, prev, 20);
    if (w.async) await w.value;
  }
}

/** Tries once; true when taken. */
export function tryAcquireWord(words: Int32Array, word: number, holder: number): boolean {
  return Atomics.compareExchange(words, word, 0, holder) === 0;
}

/** Frees a word (release order: writes made while holding it are visible to the next holder). */
export function releaseWord(words: Int32Array, word: number): void {
  Atomics.store(words, word, 0);
  Atomics.notify(words, word);
}

/** Marks a write into the owner's memory (release); fence() reads it (acquire). */
export function bumpVersion(words: Int32Array): void {
  Atomics.add(words, kVersionWord, 1);
}
