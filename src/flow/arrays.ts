/** Growing typed arrays, and rows laid on cache lines. */
import { addon } from '../capture/native.js';

type Numeric = Float64Array | Int32Array | Uint32Array;

/** Returns `to` after copying into it as much of `from` as fits (the rest of `to` keeps its zeros). */
export function carry<T extends Numeric>(from: Numeric, to: T): T {
  to.set(from.subarray(0, Math.min(from.length, to.length)));
  return to;
}

const LINE = 64;

/**
 * A zeroed Uint32Array of `words` whose first word starts a 64-byte cache line. Large buffers start 16 bytes
 * into a line (malloc's header), which put every 64-byte row of the flow table across two lines: two misses for
 * one row (account's reads of a row's key and of its first-second words profiled at a fifth of its time).
 */
export function lineAlignedUint32(words: number): Uint32Array {
  const buf = new ArrayBuffer(words * 4 + LINE);
  const skip = (LINE - addon.lineOffset(new Uint8Array(buf, 0, 1))) % LINE;
  return new Uint32Array(buf, skip, words);
}
