/**
 * The expiry queue: a timing wheel of one-second buckets over flow indices, so that re-filing a flow after each
 * packet is O(1) and a scan touches only the seconds that have passed.
 *
 * Every filed flow sits in exactly one doubly linked list:
 *  - a slot `s & MASK` for expiry seconds s in [base, base + SLOTS): each slot then holds one second only;
 *  - IMMEDIATE for seconds before base (softflowd's expires_at = 0 "now", or a packet clock that went back);
 *  - beyond the wheel (long timeouts), a second, lazy wheel of FAR one-second slots for seconds in
 *    [farBase, farBase + FAR), where farBase >= base + SLOTS is chosen when the first flow goes beyond the wheel;
 *    BELOW for the seconds between the two wheels and LATER for those past the far one.
 * `base` only moves forward in `collectExpired`, after everything before it has been removed, which keeps the
 * one-second-per-slot invariant; and after every `collectExpired` no BELOW, far or LATER entry lies within the
 * wheel. farBase moves only while the far wheel and BELOW are empty, or forward past seconds already emptied. So a
 * flow's list follows from its expiry second and the two bases alone, and is not stored. Within a list the order
 * is not the expiry order; the few operations that need softflowd's exact (expiresAt, flow_seq) order (eviction,
 * dump, flush) sort what they take.
 *
 * The far wheel is for maxflows eviction with long timeouts: every flow then expires beyond the wheel, within a
 * capture's span of seconds, and eviction walks those seconds in order taking whole slots, instead of reading
 * every flow's expiry second at each check to select the soonest.
 *
 * Memory, per flow: two 32-bit links. The expiry second itself lives where the caller keeps it (the flow table's
 * rows: `store[f * stride + offset]`); `file` writes it there. Links are stored biased so that zeroed memory means
 * "not filed" and a large, never-touched capacity costs no resident pages.
 */

import { carry } from './arrays.js';

const SLOTS = 4096; // > the default tcp/general timeout of 3600 s, so default flows never wait in LATER
const MASK = SLOTS - 1;
const IMMEDIATE = SLOTS;
const LATER = SLOTS + 1;
const BELOW = SLOTS + 2;
/** The far wheel's slots are lists FAR0 + (s & FAR_MASK). */
const FAR = 4096;
const FAR_MASK = FAR - 1;
const FAR0 = SLOTS + 3;
const LISTS = FAR0 + FAR;
/** The far wheel starts this far below the first second filed in it, for flows whose packets come out of order. */
const FAR_LEAD = 64;
/** Seconds a selection may span and still be counted rather than selected (see takeSoonestOf). */
const HISTOGRAM = 8192;
// Links: next[f] = following flow + 1 (0: last); prev[f] = preceding flow + 2, HEAD when first, 0 when not filed.
const END = 0;
const UNFILED = 0;
const HEAD = 1;
/** No list: what file() passes unlink for a flow not filed yet. */
const NOWHERE = -1;

export class ExpiryWheel {
  private store: Uint32Array;
  private stride: number;
  private offset: number;
  private readonly ownStore: boolean;
  /**
   * Both links of flow f side by side, next at 2f and prev at 2f + 1: relinking a flow (most packets of a busy
   * capture move their flow to a later second) then misses the cache once for the flow's own links, not twice.
   */
  private links: Int32Array;
  /** First flow + 1 of each list (0: empty). */
  private readonly heads = new Int32Array(LISTS);
  private readonly counts = new Int32Array(LISTS);
  /** First second not yet scanned. */
  private base = 0;
  /** The far wheel's first second (see the top). */
  private farBase = SLOTS;
  /** Flows in BELOW, LATER and the far wheel. */
  private farCount = 0;
  /** No entry of LATER expires before this (it may be stale-low after removals, which only costs a rescan). */
  private laterMin = Infinity;
  /** No entry of BELOW expires before this (stale-low the same way). */
  private belowMin = Infinity;
  /** Number of filed flows. */
  size = 0;
  /** Room for one list's flows, their seconds, and a copy to select in (grown on demand). */
  private flows = new Int32Array(0);
  private ats = new Uint32Array(0);
  private work = new Uint32Array(0);
  /** Flows per second over the gathered span, for countSeconds (kept zeroed between uses). */
  private readonly histogram = new Uint32Array(HISTOGRAM);

  /**
   * `store` is where the expiry seconds live (default: an array of the wheel's own, one word per flow). The
   * caller must not change a filed flow's word other than through `file`.
   */
  constructor(capacity: number, store?: { array: Uint32Array; stride: number; offset: number }) {
    this.ownStore = !store;
    this.store = store ? store.array : new Uint32Array(capacity);
    this.stride = store ? store.stride : 1;
    this.offset = store ? store.offset : 0;
    this.links = new Int32Array(2 * capacity);
  }

  /** Room for `capacity` flows; `store` replaces the expiry store (the caller's grew too). */
  grow(capacity: number, store?: Uint32Array): void {
    this.links = carry(this.links, new Int32Array(2 * capacity));
    if (store) this.store = store;
    else if (this.ownStore) this.store = carry(this.store, new Uint32Array(capacity));
  }

  /** Expiry second of a filed flow. */
  at(f: number): number {
    return this.store[f * this.stride + this.offset]!;
  }

  /** Moves the start of the wheel; only allowed while it is empty (the table does it for the first flow). */
  rebase(sec: number): void {
    if (this.size !== 0) throw new Error('ExpiryWheel.rebase on a non-empty wheel');
    this.base = sec;
    this.laterMin = Infinity;
    this.belowMin = Infinity;
  }

  isFiled(f: number): boolean {
    return this.links[(f << 1) | 1] !== UNFILED;
  }

  /** Files flow f to expire at second `at` (inserting it or moving it). */
  file(f: number, at: number): void {
    // The word holds 32 bits: a later second (a capture stamped near 2106, plus a timeout) would read back
    // wrapped, from another list than the one it was linked into, and corrupt the lists (found by fuzzing).
    if (at > 0xffffffff) at = 0xffffffff;
    const w = f * this.stride + this.offset;
    // An empty far wheel may start anywhere past the wheel: where this flow is.
    if (this.farCount === 0 && at - this.base >= SLOTS) this.farBase = Math.max(this.base + SLOTS, at - FAR_LEAD);
    const list = this.listOf(at);
    if (list === LATER && at < this.laterMin) this.laterMin = at;
    else if (list === BELOW && at < this.belowMin) this.belowMin = at;
    const filed = this.links[(f << 1) | 1] !== UNFILED;
    const cur = filed ? this.listOf(this.store[w]!) : NOWHERE;
    this.store[w] = at;
    // Most packets land in the second their flow is already filed under: no relinking.
    if (cur === list) return;
    if (!filed) this.size++;
    // New flows pass here too (unlink does nothing for them): V8 compiles the flow table's update, which this
    // inlines into, before any flow has moved to another second (one second into a capture), and a call it had
    // never seen made it throw that code away there and compile it again (--trace-deopt).
    this.unlink(f, cur);
    this.link(f, list);
  }

  remove(f: number): void {
    if (this.links[(f << 1) | 1] === UNFILED) return;
    this.unlink(f, this.listOf(this.at(f)));
    this.size--;
  }

  /**
   * Removes every flow with expiresAt < now and appends it to `out` from `n`; returns the new length of `out`.
   * Afterwards base = max(base, now).
   */
  collectExpired(now: number, out: Int32Array, n: number): number {
    for (let e = this.heads[IMMEDIATE]!; e !== END; ) {
      const f = e - 1;
      e = this.links[f << 1]!;
      if (this.at(f) < now) n = this.take(f, IMMEDIATE, out, n);
    }
    if (now <= this.base) return n;
    // Each slot holds exactly one second in [base, base+SLOTS), so every slot passed is wholly expired.
    const steps = Math.min(now - this.base, SLOTS);
    for (let i = 0; i < steps; i++) {
      const slot = (this.base + i) & MASK;
      while (this.heads[slot] !== END) n = this.take(this.heads[slot]! - 1, slot, out, n);
    }
    this.base = now;
    // Entries beyond the wheel that now fall inside it move to their slots here, before anything reads their list
    // from their second again.
    if (this.farCount > 0) {
      if (this.belowMin < now + SLOTS) n = this.spread(BELOW, now, out, n);
      if (this.farBase < now + SLOTS) n = this.advanceFar(now + SLOTS, now, out, n);
      if (this.laterMin < this.farBase + FAR) n = this.spread(LATER, now, out, n);
    }
    return n;
  }

  /**
   * Removes the `k` flows that would expire soonest, in softflowd's order (expiresAt, then `seq`), and appends
   * them to `out` from `n`; returns the new length. Which flows go follows that order exactly; the order they are
   * appended in does not (it only decides the order of their records).
   */
  collectSoonest(k: number, seq: Uint32Array, out: Int32Array, n: number): number {
    const start = n;
    const counts = this.counts;
    // Empty lists are skipped here: with long timeouts all 4096 slots are empty at every maxflows check.
    if (counts[IMMEDIATE]! > 0) n = this.takeSoonestOf(IMMEDIATE, k, seq, out, n);
    for (let i = 0; i < SLOTS && n - start < k && this.size > this.farCount; i++) {
      const list = (this.base + i) & MASK;
      if (counts[list] === 0) continue;
      n = this.takeSoonestOf(list, k - (n - start), seq, out, n);
    }
    if (n - start < k && counts[BELOW]! > 0) n = this.takeSoonestOf(BELOW, k - (n - start), seq, out, n);
    for (let i = 0; i < FAR && n - start < k && this.farCount > counts[LATER]!; i++) {
      const list = FAR0 + ((this.farBase + i) & FAR_MASK);
      if (counts[list] === 0) continue;
      n = this.takeSoonestOf(list, k - (n - start), seq, out, n);
    }
    if (n - start < k && counts[LATER]! > 0) n = this.takeSoonestOf(LATER, k - (n - start), seq, out, n);
    // A capture longer than the far wheel spans fills LATER; once the far wheel has been emptied, it starts again
    // where LATER's flows are.
    if (this.farCount > 0 && this.farCount === counts[LATER]) n = this.refar(out, n);
    return n;
  }

  /** Writes every filed flow to `out` in (expiresAt, seq) order and returns how many. */
  ordered(seq: Uint32Array, out: Int32Array): number {
    let n = 0;
    for (let list = 0; list < LISTS; list++) {
      for (let e = this.heads[list]!; e !== END; e = this.links[(e - 1) << 1]!) out[n++] = e - 1;
    }
    this.sortByExpiry(out, 0, n, seq);
    return n;
  }

  /** Forgets every flow (the table frees them itself). */
  clear(): void {
    for (let list = 0; list < LISTS; list++) {
      for (let e = this.heads[list]!; e !== END; ) {
        const f = e - 1;
        e = this.links[f << 1]!;
        this.links[(f << 1) | 1] = UNFILED;
        this.links[f << 1] = END;
      }
    }
    this.heads.fill(END);
    this.counts.fill(0);
    this.size = 0;
    this.farCount = 0;
    this.laterMin = Infinity;
    this.belowMin = Infinity;
  }

  /** The list a flow expiring at `at` is in, by the invariants above. */
  private listOf(at: number): number {
    const d = at - this.base;
    if (d < SLOTS) return d < 0 ? IMMEDIATE : at & MASK;
    const e = at - this.farBase;
    return e < 0 ? BELOW : e < FAR ? FAR0 + (at & FAR_MASK) : LATER;
  }

  /**
   * Takes the min(k, count) soonest entries of one list: every flow before the k-th smallest expiry second T, and
   * of those expiring at T the ones created first. Both thresholds are selections over plain numbers, linear in
   * the list's length (under maxflows pressure with long timeouts every flow is in LATER, thousands per check,
   * and sorting them with a comparator was a third of the time per packet).
   *
   * Each loop is a method of its own. V8 compiles a long first loop on the fly (OSR) before the loops after it
   * have run; that code then bailed out at the next loop on every call, 360 times in a 3M-packet replay, each
   * time finishing the work in the interpreter.
   */
  private takeSoonestOf(list: number, k: number, seq: Uint32Array, out: Int32Array, n: number): number {
    const m = this.counts[list]!;
    if (k <= 0 || m === 0) return n;
    if (m <= k) return this.takeAll(list, out, n);
    if (this.flows.length < m) {
      const size = Math.max(m, 2 * this.flows.length);
      this.flows = new Int32Array(size);
      this.ats = new Uint32Array(size);
      this.work = new Uint32Array(size);
    }
    // Most flows in this list (long timeouts put them all in LATER): reading every flow in index order is several
    // times faster than chasing the links to scattered rows.
    if (list >= SLOTS && list < FAR0 && 8 * m >= this.links.length) this.gatherByIndex(list);
    else this.gatherByLink(list);
    let at: number;
    let need = k;
    if (list < SLOTS || list >= FAR0) {
      // A slot holds one second.
      at = this.ats[0]!;
    } else {
      const lowest = this.lowestGathered(m);
      if (this.highestGathered(m) - lowest < HISTOGRAM) {
        // The seconds span a short stretch (one capture's worth of a long timeout): counting the flows of each
        // finds the k-th smallest in one pass, where selection reorders the whole array several times.
        this.countSeconds(m, lowest);
        const s = this.kthSecond(k);
        need = k - this.countedBefore(s);
        this.histogram.fill(0);
        at = lowest + s;
      } else {
        this.work.set(this.ats.subarray(0, m));
        at = select(this.work, m, k - 1);
        need = k - this.countBefore(m, at);
      }
    }
    // Sequence numbers are unique, so the need-th smallest among the flows expiring at `at` is a threshold.
    const j = this.seqsAt(m, at, seq);
    const last = select(this.work, j, need - 1);
    return this.takeUpTo(list, m, at, last, seq, out, n);
  }

  private takeAll(list: number, out: Int32Array, n: number): number {
    while (this.heads[list] !== END) n = this.take(this.heads[list]! - 1, list, out, n);
    return n;
  }

  /** The list's flows and their seconds into flows/ats, reading every flow in index order. */
  private gatherByIndex(list: number): void {
    const links = this.links;
    const flows = this.flows;
    const ats = this.ats;
    let i = 0;
    for (let f = 0, end = links.length >>> 1; f < end; f++) {
      if (links[(f << 1) | 1] === UNFILED) continue;
      const t = this.at(f);
      if (this.listOf(t) !== list) continue;
      flows[i] = f;
      ats[i++] = t;
    }
  }

  /** The same, following the list's links. */
  private gatherByLink(list: number): void {
    const flows = this.flows;
    const ats = this.ats;
    let i = 0;
    for (let e = this.heads[list]!; e !== END; e = this.links[(e - 1) << 1]!) {
      flows[i] = e - 1;
      ats[i++] = this.at(e - 1);
    }
  }

  // The loops below each have a method of their own that ends with the loop (see takeSoonestOf): code after a
  // loop that V8 compiles on the fly has no type feedback the first time, and the compiled loop, kept for the
  // next call, then bailed out there on every maxflows check.

  private lowestGathered(m: number): number {
    const ats = this.ats;
    let min = ats[0]!;
    for (let x = 1; x < m; x++) if (ats[x]! < min) min = ats[x]!;
    return min;
  }

  private highestGathered(m: number): number {
    const ats = this.ats;
    let max = ats[0]!;
    for (let x = 1; x < m; x++) if (ats[x]! > max) max = ats[x]!;
    return max;
  }

  /** Counts the gathered flows of each second from `lowest` into the histogram (their span below HISTOGRAM). */
  private countSeconds(m: number, lowest: number): void {
    const hist = this.histogram;
    const ats = this.ats;
    for (let x = 0; x < m; x++) hist[ats[x]! - lowest]!++;
  }

  /** The histogram's index of the k-th smallest counted second (1 <= k <= the flows counted). */
  private kthSecond(k: number): number {
    const hist = this.histogram;
    let acc = 0;
    let s = 0;
    while (acc + hist[s]! < k) acc += hist[s++]!;
    return s;
  }

  /** The flows counted before histogram index s. */
  private countedBefore(s: number): number {
    const hist = this.histogram;
    let acc = 0;
    for (let i = 0; i < s; i++) acc += hist[i]!;
    return acc;
  }

  private countBefore(m: number, at: number): number {
    const ats = this.ats;
    let below = 0;
    for (let j = 0; j < m; j++) if (ats[j]! < at) below++;
    return below;
  }

  /** The sequence numbers of the gathered flows expiring at `at`, into work; returns how many. */
  private seqsAt(m: number, at: number, seq: Uint32Array): number {
    const ats = this.ats;
    const flows = this.flows;
    const work = this.work;
    let j = 0;
    for (let x = 0; x < m; x++) if (ats[x] === at) work[j++] = seq[flows[x]!]!;
    return j;
  }

  /** Takes the gathered flows expiring before `at`, and those at `at` created no later than `last`. */
  private takeUpTo(list: number, m: number, at: number, last: number, seq: Uint32Array, out: Int32Array, n: number): number {
    const ats = this.ats;
    const flows = this.flows;
    for (let x = 0; x < m; x++) {
      const t = ats[x]!;
      if (t < at || (t === at && seq[flows[x]!]! <= last)) n = this.take(flows[x]!, list, out, n);
    }
    return n;
  }

  private sortByExpiry(a: Int32Array, from: number, to: number, seq: Uint32Array): void {
    a.subarray(from, to).sort((x, y) => this.at(x) - this.at(y) || seq[x]! - seq[y]!);
  }

  /**
   * Moves the entries of BELOW or LATER that now belong to another list (base or farBase moved) there, collecting
   * those already expired; refreshes the list's lower bound.
   */
  private spread(list: number, now: number, out: Int32Array, n: number): number {
    let min = Infinity;
    for (let e = this.heads[list]!; e !== END; ) {
      const f = e - 1;
      e = this.links[f << 1]!;
      const t = this.at(f);
      if (t < now) {
        n = this.take(f, list, out, n);
        continue;
      }
      const to = this.listOf(t);
      if (to !== list) {
        this.unlink(f, list);
        this.link(f, to);
      } else if (t < min) {
        min = t;
      }
    }
    if (list === LATER) this.laterMin = min;
    else this.belowMin = min;
    return n;
  }

  /**
   * Moves farBase up to `to` (base + SLOTS after base moved): the far slots of the seconds passed go into the
   * wheel's slots, or out when already expired. Afterwards LATER may hold entries the far wheel now covers.
   */
  private advanceFar(to: number, now: number, out: Int32Array, n: number): number {
    const steps = Math.min(to - this.farBase, FAR);
    const from = this.farBase;
    this.farBase = to;
    for (let i = 0; i < steps; i++) n = this.emptyFarSlot(FAR0 + ((from + i) & FAR_MASK), now, out, n);
    return n;
  }

  private emptyFarSlot(list: number, now: number, out: Int32Array, n: number): number {
    while (this.heads[list] !== END) {
      const f = this.heads[list]! - 1;
      const t = this.at(f);
      if (t < now) {
        n = this.take(f, list, out, n);
      } else {
        this.unlink(f, list);
        this.link(f, this.listOf(t));
      }
    }
    return n;
  }

  /** Starts the emptied far wheel again at LATER's soonest second and spreads LATER into it. */
  private refar(out: Int32Array, n: number): number {
    let min = Infinity;
    for (let e = this.heads[LATER]!; e !== END; e = this.links[(e - 1) << 1]!) {
      const t = this.at(e - 1);
      if (t < min) min = t;
    }
    this.farBase = Math.max(this.base + SLOTS, min);
    return this.spread(LATER, this.base, out, n);
  }

  private take(f: number, list: number, out: Int32Array, n: number): number {
    this.unlink(f, list);
    this.size--;
    out[n] = f;
    return n + 1;
  }

  private link(f: number, list: number): void {
    const h = this.heads[list]!;
    this.links[f << 1] = h;
    this.links[(f << 1) | 1] = HEAD;
    if (h !== END) this.links[((h - 1) << 1) | 1] = f + 2;
    this.heads[list] = f + 1;
    this.counts[list]!++;
    if (list > IMMEDIATE) this.farCount++;
  }

  private unlink(f: number, list: number): void {
    const p = this.links[(f << 1) | 1]!;
    if (p === UNFILED) return;
    const nx = this.links[f << 1]!;
    if (p !== HEAD) this.links[(p - 2) << 1] = nx;
    else this.heads[list] = nx;
    if (nx !== END) this.links[((nx - 1) << 1) | 1] = p;
    this.links[(f << 1) | 1] = UNFILED;
    this.links[f << 1] = END;
    this.counts[list]!--;
    if (list > IMMEDIATE) this.farCount--;
  }
}

/**
 * The (r+1)-th smallest of a[0..n) (0 <= r < n), by quickselect with a median-of-three pivot; reorders a[0..n).
 * Expected linear time, and no allocation.
 */
function select(a: Uint32Array, n: number, r: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three to the middle, so sorted or reversed input stays linear.
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (r <= j) hi = j;
    else if (r >= i) lo = i;
    else return a[r]!;
  }
  return a[r]!;
}

function swap(a: Uint32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
