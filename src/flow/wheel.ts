/**
 * The expiry queue: a timing wheel of one-second buckets over flow indices, so that re-filing a flow after each
 * packet is O(1) and a scan touches only the seconds that have passed.
 *
 * Every filed flow sits in exactly one doubly linked list:
 *  - a slot `s & MASK` for expiry seconds s in [base, base + SLOTS): each slot then holds one second only;
 *  - IMMEDIATE for seconds before base (softflowd's expires_at = 0 "now", or a packet clock that went back);
 *  - LATER for seconds at or after base + SLOTS (long timeouts), spread into slots as base moves on.
 * `base` only moves forward in `collectExpired`, after everything before it has been removed, which keeps the
 * one-second-per-slot invariant. Within a list the order is not the expiry order; the few operations that need
 * softflowd's exact (expiresAt, flow_seq) order (eviction, dump, flush) sort what they take.
 */

import { carry } from './arrays.js';

const SLOTS = 4096; // > the default tcp/general timeout of 3600 s, so default flows never wait in LATER
const MASK = SLOTS - 1;
const IMMEDIATE = SLOTS;
const LATER = SLOTS + 1;
const NONE = -1;

export class ExpiryWheel {
  /** Expiry second of each filed flow. */
  expiresAt: Float64Array;
  private next: Int32Array;
  private prev: Int32Array;
  /** The list a flow is filed in, or NONE. */
  private listOf: Int32Array;
  private readonly heads = new Int32Array(SLOTS + 2).fill(NONE);
  private readonly counts = new Int32Array(SLOTS + 2);
  /** First second not yet scanned. */
  private base = 0;
  /** No entry of LATER expires before this (it may be stale-low after removals, which only costs a rescan). */
  private laterMin = Infinity;
  /** Number of filed flows. */
  size = 0;
  /** Room to sort one list in. */
  private scratch: Int32Array;
  private seqScratch: Float64Array;

  constructor(capacity: number) {
    this.expiresAt = new Float64Array(capacity);
    this.next = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.listOf = new Int32Array(capacity).fill(NONE);
    this.scratch = new Int32Array(capacity);
    this.seqScratch = new Float64Array(capacity);
  }

  grow(capacity: number): void {
    const old = this.listOf.length;
    this.expiresAt = carry(this.expiresAt, new Float64Array(capacity));
    this.next = carry(this.next, new Int32Array(capacity));
    this.prev = carry(this.prev, new Int32Array(capacity));
    this.listOf = carry(this.listOf, new Int32Array(capacity));
    this.listOf.fill(NONE, old);
    this.scratch = new Int32Array(capacity);
    this.seqScratch = new Float64Array(capacity);
  }

  /** Moves the start of the wheel; only allowed while it is empty (the table does it for the first flow). */
  rebase(sec: number): void {
    if (this.size !== 0) throw new Error('ExpiryWheel.rebase on a non-empty wheel');
    this.base = sec;
    this.laterMin = Infinity;
  }

  isFiled(f: number): boolean {
    return this.listOf[f] !== NONE;
  }

  /** Files flow f to expire at second `at` (inserting it or moving it). */
  file(f: number, at: number): void {
    this.expiresAt[f] = at;
    const d = at - this.base;
    const list = d < 0 ? IMMEDIATE : d < SLOTS ? at & MASK : LATER;
    if (list === LATER && at < this.laterMin) this.laterMin = at;
    const cur = this.listOf[f];
    // Most packets land in the second their flow is already filed under: no relinking.
    if (cur === list) return;
    if (cur !== NONE) this.unlink(f, cur);
    else this.size++;
    this.link(f, list);
  }

  remove(f: number): void {
    const cur = this.listOf[f];
    if (cur === NONE) return;
    this.unlink(f, cur);
    this.size--;
  }

  /**
   * Removes every flow with expiresAt < now and appends it to `out` from `n`; returns the new length of `out`.
   * Afterwards base = max(base, now).
   */
  collectExpired(now: number, out: Int32Array, n: number): number {
    const at = this.expiresAt;
    for (let f = this.heads[IMMEDIATE]; f !== NONE; ) {
      const nf = this.next[f];
      if (at[f] < now) n = this.take(f, IMMEDIATE, out, n);
      f = nf;
    }
    if (now <= this.base) return n;
    // Each slot holds exactly one second in [base, base+SLOTS), so every slot passed is wholly expired.
    const steps = Math.min(now - this.base, SLOTS);
    for (let i = 0; i < steps; i++) {
      const slot = (this.base + i) & MASK;
      while (this.heads[slot] !== NONE) n = this.take(this.heads[slot], slot, out, n);
    }
    this.base = now;
    if (this.laterMin < now + SLOTS) n = this.spreadLater(now, out, n);
    return n;
  }

  /**
   * Removes the `k` flows that would expire soonest, in softflowd's order (expiresAt, then `seq`), and appends
   * them to `out` from `n`; returns the new length. Which flows go follows that order exactly; the order they are
   * appended in does not (it only decides the order of their records).
   */
  collectSoonest(k: number, seq: Float64Array, out: Int32Array, n: number): number {
    const start = n;
    n = this.takeSoonestOf(IMMEDIATE, k, seq, out, n);
    for (let i = 0; i < SLOTS && n - start < k && this.size > 0; i++) {
      n = this.takeSoonestOf((this.base + i) & MASK, k - (n - start), seq, out, n);
    }
    return this.takeSoonestOf(LATER, k - (n - start), seq, out, n);
  }

  /** Writes every filed flow to `out` in (expiresAt, seq) order and returns how many. */
  ordered(seq: Float64Array, out: Int32Array): number {
    let n = 0;
    for (let list = 0; list < SLOTS + 2; list++) {
      for (let f = this.heads[list]; f !== NONE; f = this.next[f]) out[n++] = f;
    }
    this.sortByExpiry(out, 0, n, seq);
    return n;
  }

  /** Forgets every flow (the table frees them itself). */
  clear(): void {
    for (let list = 0; list < SLOTS + 2; list++) {
      for (let f = this.heads[list]; f !== NONE; f = this.next[f]) this.listOf[f] = NONE;
    }
    this.heads.fill(NONE);
    this.counts.fill(0);
    this.size = 0;
    this.laterMin = Infinity;
  }

  /** Takes the min(k, count) soonest entries of one list. */
  private takeSoonestOf(list: number, k: number, seq: Float64Array, out: Int32Array, n: number): number {
    const m = this.counts[list];
    if (k <= 0 || m === 0) return n;
    if (m <= k) {
      while (this.heads[list] !== NONE) n = this.take(this.heads[list], list, out, n);
      return n;
    }
    if (list < SLOTS) {
      // One second: the k created first. Sequence numbers are unique, so the k-th smallest is a threshold, and a
      // numeric sort of plain numbers avoids calling a comparator thousands of times under eviction pressure.
      const seqs = this.seqScratch.subarray(0, m);
      let i = 0;
      for (let f = this.heads[list]; f !== NONE; f = this.next[f]) seqs[i++] = seq[f];
      seqs.sort();
      const last = seqs[k - 1];
      for (let f = this.heads[list]; f !== NONE; ) {
        const nf = this.next[f];
        if (seq[f] <= last) n = this.take(f, list, out, n);
        f = nf;
      }
      return n;
    }
    const a = this.scratch;
    let i = 0;
    for (let f = this.heads[list]; f !== NONE; f = this.next[f]) a[i++] = f;
    this.sortByExpiry(a, 0, m, seq);
    for (let j = 0; j < k; j++) n = this.take(a[j], list, out, n);
    return n;
  }

  private sortByExpiry(a: Int32Array, from: number, to: number, seq: Float64Array): void {
    const at = this.expiresAt;
    a.subarray(from, to).sort((x, y) => at[x] - at[y] || seq[x] - seq[y]);
  }

  /** Moves LATER entries that now fall inside the wheel into their slots, collecting those already expired. */
  private spreadLater(now: number, out: Int32Array, n: number): number {
    const at = this.expiresAt;
    let min = Infinity;
    for (let f = this.heads[LATER]; f !== NONE; ) {
      const nf = this.next[f];
      const t = at[f];
      if (t < now) {
        n = this.take(f, LATER, out, n);
      } else if (t - this.base < SLOTS) {
        this.unlink(f, LATER);
        this.link(f, t & MASK);
      } else if (t < min) {
        min = t;
      }
      f = nf;
    }
    this.laterMin = min;
    return n;
  }

  private take(f: number, list: number, out: Int32Array, n: number): number {
    this.unlink(f, list);
    this.size--;
    out[n] = f;
    return n + 1;
  }

  private link(f: number, list: number): void {
    const h = this.heads[list];
    this.next[f] = h;
    this.prev[f] = NONE;
    if (h !== NONE) this.prev[h] = f;
    this.heads[list] = f;
    this.listOf[f] = list;
    this.counts[list]++;
  }

  private unlink(f: number, list: number): void {
    const p = this.prev[f];
    const nx = this.next[f];
    if (p !== NONE) this.next[p] = nx;
    else this.heads[list] = nx;
    if (nx !== NONE) this.prev[nx] = p;
    this.listOf[f] = NONE;
    this.counts[list]--;
  }
}
