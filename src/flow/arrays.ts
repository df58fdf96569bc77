/** Growing typed arrays. */

type Numeric = Float64Array | Int32Array | Uint32Array;

/** Returns `to` after copying into it as much of `from` as fits (the rest of `to` keeps its zeros). */
export function carry<T extends Numeric>(from: Numeric, to: T): T {
  to.set(from.subarray(0, Math.min(from.length, to.length)));
  return to;
}
