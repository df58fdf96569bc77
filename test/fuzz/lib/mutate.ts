/**
 * Byte-level mutations of real inputs (captures, export datagrams), as a fast-check arbitrary: a short list of
 * edits that shrinks towards fewer and smaller edits, so a failure comes back as the smallest change that still
 * breaks something. Positions are taken modulo the current length, so one list applies to any input.
 */
import fc from 'fast-check';

/** Values that sit on the edges length and count fields are checked against. */
export const INTERESTING = [
  0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 20, 24, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe,
  0xffff, 0x10000, 0x3ffff, 0x40000, 0x40001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

export type Mutation =
  /** Overwrite one byte. */
  | { k: 'byte'; at: number; v: number }
  /** Overwrite a 1/2/4-byte integer (either byte order) with an edge value, or the old value plus a small delta. */
  | { k: 'int'; at: number; width: 1 | 2 | 4; le: boolean; v: number; delta: number }
  /** Cut the input at a position. */
  | { k: 'cut'; at: number }
  /** Insert random bytes. */
  | { k: 'insert'; at: number; bytes: Uint8Array }
  /** Remove a run of bytes. */
  | { k: 'delete'; at: number; n: number }
  /** Copy a run of bytes over another place (repeats headers and records). */
  | { k: 'copy'; from: number; to: number; n: number };

const pos = fc.nat({ max: 0x7fffffff });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('byte' as const), at: pos, v: fc.integer({ min: 0, max: 255 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('int' as const),
      at: pos,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const),
      le: fc.boolean(),
      v: fc.constantFrom(...INTERESTING),
      // A non-zero delta means "old value + delta" instead of an edge value: lengths that are off by a little.
      delta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: -8, max: 8 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cut' as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), at: pos, n: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('copy' as const), from: pos, to: pos, n: fc.integer({ min: 1, max: 128 }) }) },
);

/** One to `max` mutations. */
export function mutationsArb(max = 6): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb, { minLength: 1, maxLength: max });
}

/** Applies the mutations in order to a copy of `base`. */
export function mutate(base: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const m of muts) {
    const len = b.length;
    switch (m.k) {
      case 'byte':
        if (len) b[m.at % len] = m.v;
        break;
      case 'int': {
        if (len < m.width) break;
        const at = m.at % (len - m.width + 1);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const old = m.width === 1 ? dv.getUint8(at) : m.width === 2 ? dv.getUint16(at, m.le) : dv.getUint32(at, m.le);
        const max = m.width === 4 ? 0x100000000 : 1 << (8 * m.width);
        const v = (((m.delta !== 0 ? old + m.delta : m.v) % max) + max) % max;
        if (m.width === 1) dv.setUint8(at, v);
        else if (m.width === 2) dv.setUint16(at, v, m.le);
        else dv.setUint32(at, v, m.le);
        break;
      }
      case 'cut':
        b = b.slice(0, len ? m.at % (len + 1) : 0);
        break;
      case 'insert': {
        const at = m.at % (len + 1);
        const n = new Uint8Array(len + m.bytes.length);
        n.set(b.subarray(0, at), 0);
        n.set(m.bytes, at);
        n.set(b.subarray(at), at + m.bytes.length);
        b = n;
        break;
      }
      case 'delete': {
        if (!len) break;
        const at = m.at % len;
        const n = Math.min(m.n, len - at);
        const out = new Uint8Array(len - n);
        out.set(b.subarray(0, at), 0);
        out.set(b.subarray(at + n), at);
        b = out;
        break;
      }
      case 'copy': {
        if (!len) break;
        const from = m.from % len;
        const to = m.to % len;
        const n = Math.min(m.n, len - from, len - to);
        b.copyWithin(to, from, from + n);
        break;
      }
    }
  }
  return b;
}

/** `arb` in one case out of `n`, null in the others (fc.option's freq is the other way round). */
export function rarely<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}
