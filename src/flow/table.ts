/**
 * The flow table: softflowd's bidirectional flows (§3.2–3.4 of the reference) in typed arrays.
 *
 * A flow is an index: into a row of 32-bit words holding its key and its hot counters (see Storage below), and
 * into a few per-flow and per-direction arrays for what only its first packets and its export read. The hash
 * index is open addressing with linear probing over flow indices (load <= 1/2, backward-shift deletion, so no
 * tombstones). Storage grows by doubling up to maxFlows + checkEvery, the most flows the table can hold between
 * two maxflows checks; expiry order is kept by the timing wheel in wheel.ts.
 *
 * Halves follow softflowd: the numerically lower address is half 0 and the sender of a packet is its half; with
 * equal addresses every packet is half 0 with its ports as sent. Where flowprobe differs on purpose (the
 * reference README): octets are the IP length unless `octets: 'link'`; each direction keeps its own ToS, flow
 * label and first/last times; `-T vlan|ether` keep both directions of a conversation in one flow (the VLAN tag
 * is one key field, not one per sender); and expiry runs on the caller's clock, which for files is the packet
 * clock: a packet that finds its flow past its expiry second ends that flow and starts a new one, so results do
 * not depend on how often the caller scans.
 *
 * The caller (one thread) feeds every packet the source delivers to `update` (any decode status), calls
 * `scan(now)` on its clock, and `expireAll()` at the end. Sampling (`-s N`): call `sample()` before decoding and
 * skip the packet when it returns false. Expired flows go to the sink as FlowRecords; the sink must copy what it
 * keeps and must not call back into the table.
 */
import { DecodeStatus, Fragment, MAX_MPLS_LABELS, type PacketView } from '../decode/packet.js';
import { FlowRecord, type FlowSink } from '../wire/record.js';
import { DEFAULT_TIMEOUTS, END_REASON, ExpiryRule, OVERBYTES_LIMIT, Reason, type Timeouts } from './expiry.js';
import { FlowStats } from './stats.js';
import { carry, lineAlignedUint32 } from './arrays.js';
import { ExpiryWheel } from './wheel.js';
import { addon } from '../capture/native.js';

/** softflowd's `-T` levels. `port` is the same as `full` there (no case in its switch), and here. */
export type TrackingLevel = 'full' | 'port' | 'proto' | 'ip' | 'vlan' | 'ether';
export const TRACKING_LEVELS: readonly TrackingLevel[] = ['full', 'port', 'proto', 'ip', 'vlan', 'ether'];

export interface FlowTableOptions {
  /** `-m`: flows kept after each maxflows check (softflowd's default 8192). */
  maxFlows?: number;
  /**
   * Packets between maxflows checks. softflowd checks after each pcap_dispatch batch of max_flows packets, so the
   * default is maxFlows, which gives softflowd's flows for the same input and -m. 1 checks after every packet.
   */
  checkEvery?: number;
  timeouts?: Partial<Timeouts>;
  tracking?: TrackingLevel;
  /** 'ip': the IP total length (default); 'link': softflowd's count, wire length minus the link header. */
  octets?: 'ip' | 'link';
  /** false drops IPv6 as non-IP, like softflowd exporting v1/v5 without -6. Default true. */
  trackV6?: boolean;
  /** `-s N`: keep 1 packet in N (see `sample`). Below 2 = off. */
  sampling?: number;
  /** One record per flow with RFC 5103 reverse counters (IPFIX -b) instead of one per direction. */
  biflow?: boolean;
  /**
   * Flows allocated up front, growing by doubling after (default: the most the table can hold, when that fits in
   * PREALLOCATE_BYTES, else 1024).
   */
  initialCapacity?: number;
  /** Seed of the key hash (default random, so that crafted traffic cannot aim at one probe chain). */
  hashSeed?: number;
}

/** One direction of an active flow, as `dumpFlows` reports it. */
export interface FlowHalf {
  packets: number;
  octets: number;
  tcpFlags: number;
  tos: number;
  flowLabel: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

/** An active flow as `dumpFlows` reports it (a copy: safe to keep). Index 0 is the lower-address half. */
export interface ActiveFlow {
  /** Creation sequence, from 1 (softflowd's flow_seq). */
  seq: number;
  ipVersion: number;
  protocol: number;
  addr: [Uint32Array, Uint32Array];
  port: [number, number];
  halves: [FlowHalf, FlowHalf];
  /** First and latest packet of either direction. */
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  /** Outer and inner VLAN id (in the key only with -T vlan|ether, else 0). */
  vlan: number;
  vlanInner: number;
  /** MAC of each half, high 16 and low 32 bits (in the key only with -T ether, else 0). */
  macHi: [number, number];
  macLo: [number, number];
  mpls: number[];
  /** Expiry second; 0 = at the next scan (softflowd's "now (FORCED)"). */
  expiresAt: number;
  /** The reason the flow will expire with if nothing else happens first. */
  reason: Reason;
}

/*
 * Storage. A flow is an index f. Everything a packet of an existing flow reads or writes sits in its 64-byte row
 * (16 words of one Uint32Array: one cache line): key, counters, flags, times and expiry second. Beside it, per
 * flow: the nanoseconds of each half's first packet (`firstNs`, written by a half's first packet, read at export),
 * the creation sequence (`seq`) and the wheel's two links, so an IPv4 flow takes 84 bytes, and the hash index
 * some 8 to 16 more (one 32-bit entry per slot: flow + 1, its distance from its home slot and the hash's high bits;
 * load <= 3/4). What only some flows have lives apart: IPv6 addresses and flow labels in a 40-byte extension slot,
 * MPLS labels in an array made at the first labelled packet, VLAN and MAC key fields in arrays that exist only
 * with -T vlan|ether. (The layout before, 128-byte rows beside per-field arrays, took 367 bytes per flow in
 * bench/memory.ts; this one 98.)
 *
 * Counters are u32, softflowd's width and what the templates carry: a flow passes 2^31 octets only by one packet
 * before the expiry rule ends it (over 2 GiB), and should one packet take a counter past 2^32 - 1 (a hostile
 * wire length with --octets link), the flow ends before it rather than wrap.
 *
 * The rows and per-flow arrays are allocated for the most flows the table can hold (maxFlows + checkEvery) at the
 * start when that stays below PREALLOCATE_BYTES: the kernel hands such memory out on first touch and freed
 * indices are used again first, so only pages of flows that existed become resident, and growing never copies
 * (no moment with two copies of the table). Larger tables, or an explicit initialCapacity, grow by doubling. The
 * index grows with the number of flows, alternating between the halves of a buffer reserved for the largest.
 *
 * Row words:
 *   0       ipVersion | protocol << 8 | MPLS depth << 16 (the key part) | pending Reason << 24
 *   1       port of half 0 << 16 | port of half 1
 *   2, 3    IPv4: the addresses of half 0 (the lower) and half 1; IPv6: the extension slot, 0
 *   4       TCP flags half 0 | half 1 << 8 | ToS half 0 << 16 | ToS half 1 << 24
 *   5       expiry second (the wheel files the flow by it, and writes it)
 *   6, 7    packets per half            8, 9    octets per half
 *   10, 11  latest packet second per half      12, 13  its nanoseconds
 *   14, 15  first packet second per half (its nanoseconds are in firstNs)
 * A half without packets has zeros in all of its words. Seconds are u32, as capture timestamps are (until 2106).
 */
const ROW = 16;
const ROW_SHIFT = 4;
const K_META = 0;
const K_PORTS = 1;
const K_A0 = 2;
const K_A1 = 3;
const R_FLAGS = 4;
const R_EXPIRES = 5;
const R_PKTS = 6;
const R_OCTS = 8;
const R_LAST_S = 10;
const R_LAST_NS = 12;
const R_FIRST_S = 14;
const META_KEY = 0xffffff;
const REASON_SHIFT = 24;
/** IPv6 extension slot: the addresses of half 0 and half 1 (8 words), then each half's flow label. */
const EXT = 10;
const EXT_LABEL = 8;
const MAX_U32 = 0xffffffff;
/** Per-flow bytes allocated up front at most this large (virtual: resident only where flows have been). */
const PREALLOCATE_BYTES = 1 << 30;
/**
 * Bytes per flow of the arrays sized by capacity: row, firstNs, seq, wheel links, free list, scan output, eviction
 * marks, IPv6 extension slot and its free list.
 */
const BYTES_PER_FLOW = ROW * 4 + 8 + 4 + 8 + 4 + 4 + 1 + EXT * 4 + 4;
/** The scratch key: meta, ports, up to 8 address words, VLAN word, 3 MAC words, MPLS labels. */
const KEY_WORDS = 2 + 8 + 1 + 3 + MAX_MPLS_LABELS;

// Imported enum members and constants copied into module constants: under tsx (how bin/ runs us without a build)
// an imported binding is read through a getter on every access, which profiled at a quarter of the per-packet time.
const OK: number = DecodeStatus.OK;
const TOO_SHORT: number = DecodeStatus.TOO_SHORT;
const NOT_FRAGMENT: number = Fragment.NONE;
const MAX_LABELS: number = MAX_MPLS_LABELS;
const R_MAXFLOWS: Reason = Reason.MAXFLOWS;
const R_FLUSHED: Reason = Reason.FLUSHED;
const R_OVERBYTES: Reason = Reason.OVERBYTES;
const END_REASONS: Readonly<Uint8Array> = END_REASON;
const LIMIT: number = OVERBYTES_LIMIT;

const EMPTY = -1;
/** Evicted flows at least this many are finished in index order (sortOut). */
const SORT_EVICTED = 256;
/** ...and leave the index in one pass over it (unindexMarked) when they are at least 1/16 of its slots. */
const BULK_EVICTED_RATIO = 16;
/** The packet at which check() is first called, doing nothing, when the first check comes later (see check). */
const WARM_CHECK = 64;
const DEFAULT_MAX_FLOWS = 8192;
const DEFAULT_INITIAL = 1024;
const MIN_INDEX = 16;
/** Bits of an index entry for its distance from its home slot; a longer probe grows the index. */
const DIB_BITS = 6;
const MAX_DIB = (1 << DIB_BITS) - 1;

export class FlowTable {
  readonly stats = new FlowStats();
  readonly timeouts: Readonly<Timeouts>;
  readonly maxFlows: number;
  readonly checkEvery: number;
  readonly tracking: TrackingLevel;
  sink: FlowSink;

  private readonly rule: ExpiryRule;
  private readonly zeroPorts: boolean;
  private readonly zeroProto: boolean;
  private readonly useVlan: boolean;
  private readonly useMac: boolean;
  private readonly linkOctets: boolean;
  private readonly trackV6: boolean;
  private readonly sampling: number;
  private readonly biflow: boolean;
  private readonly seed: number;
  private readonly maxCapacity: number;

  private capacity = 0;
  private count = 0;
  /** Indices below this have been used; the rest have never been touched. */
  private high = 0;
  private nextSeq = 1;
  private sinceCheck = 0;
  /** sinceCheck at which tick() calls check() (see check). */
  private checkAt = 0;
  /** Latest packet second seen: the packet clock. */
  private clockSec = 0;

  private rows: Uint32Array = new Uint32Array(0);
  private firstNs: Uint32Array = new Uint32Array(0);
  private seq: Uint32Array = new Uint32Array(0);
  /** Key words past the addresses, only with -T vlan|ether: VLAN word; MAC high words and low words. */
  private vlanKey: Uint32Array = new Uint32Array(0);
  private macKey: Uint32Array = new Uint32Array(0);
  /** MPLS labels, MAX_LABELS per flow; made at the first labelled packet. */
  private mplsLabels: Uint32Array = new Uint32Array(0);
  private free: Int32Array = new Int32Array(0);
  private freeTop = 0;

  private ext: Uint32Array = new Uint32Array(0);
  private extFree: Int32Array = new Int32Array(0);
  private extTop = 0;
  private extHigh = 0;

  /**
   * Hash index, Robin Hood linear probing: per slot (flow + 1) | (distance from its home slot << dibShift) |
   * (hash & tagMask), 0 when empty. Keeping the distance lets a deletion shift the run after it back without
   * recomputing anyone's hash (reading their rows), and lets a lookup stop at the first entry closer to its home.
   */
  private index: Uint32Array = new Uint32Array(0);
  private slotMask = 0;
  private indexLimit = 0;
  /** The entry a failed place() was left holding. */
  private homeless = 0;
  /** Room reserved for indices (see newIndex): two halves of `indexRegion` slots; 0 when not reserved. */
  private indexSpace: ArrayBuffer | null = null;
  private indexRegion = 0;
  private readonly flowMask: number;
  private readonly dibShift: number;
  private readonly tagMask: number;
  private readonly wheel: ExpiryWheel;
  /** Flows taken off the wheel by a scan or eviction. */
  private out: Int32Array = new Int32Array(0);
  /** False while evict finishes flows unindexMarked has already taken out of the index. */
  private indexed = true;
  /** One byte per flow for evict and sortOut, zero between uses. */
  private marks: Uint8Array = new Uint8Array(0);

  // The key of the packet being processed (see KEY_WORDS), and what buildKey derived.
  private readonly key = new Uint32Array(KEY_WORDS);
  private keyLen = 0;
  /** Where the words after the addresses start in `key` (4 for IPv4, 10 for IPv6). */
  private keyTail = 0;
  private keyDepth = 0;
  private pktProto = 0;
  private pktFlags = 0;
  /** A second scratch key, for hashing a stored flow without disturbing the packet's. */
  private readonly key2 = new Uint32Array(KEY_WORDS);

  private readonly record = new FlowRecord();
  /** MPLS depth of the last record filled, so labels are cleared only after a labelled one. */
  private recordDepth = 0;
  // flowSpan's result.
  private spanStartS = 0;
  private spanStartNs = 0;
  private spanEndS = 0;
  private spanEndNs = 0;

  constructor(sink: FlowSink, options: FlowTableOptions = {}) {
    this.sink = sink;
    const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new RangeError(`maxflows ${maxFlows}: must be a whole number >= 1`);
    const checkEvery = options.checkEvery ?? maxFlows;
    if (!Number.isInteger(checkEvery) || checkEvery < 1) throw new RangeError(`checkEvery ${checkEvery}: must be >= 1`);
    const tracking = options.tracking ?? 'full';
    if (!TRACKING_LEVELS.includes(tracking)) {
      throw new RangeError(`unknown tracking level "${tracking}": expected one of ${TRACKING_LEVELS.join(', ')}`);
    }
    const sampling = options.sampling ?? 0;
    if (!Number.isInteger(sampling) || sampling < 0) throw new RangeError(`sampling ${sampling}: must be a whole number >= 0`);
    this.maxFlows = maxFlows;
    this.checkEvery = checkEvery;
    this.checkAt = Math.min(WARM_CHECK, checkEvery);
    this.tracking = tracking;
    const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.rule = new ExpiryRule(timeouts);
    this.timeouts = Object.freeze(timeouts);
    this.zeroPorts = tracking === 'proto' || tracking === 'ip';
    this.zeroProto = tracking === 'ip';
    this.useVlan = tracking === 'vlan' || tracking === 'ether';
    this.useMac = tracking === 'ether';
    this.linkOctets = options.octets === 'link';
    this.trackV6 = options.trackV6 ?? true;
    this.sampling = sampling;
    this.biflow = options.biflow ?? false;
    this.seed = (options.hashSeed ?? Math.random() * 0x100000000) | 0;
    this.maxCapacity = maxFlows + checkEvery;
    // Index entries keep flow + 1 in the low bits, the probe distance above, and as many of the hash's high bits
    // as are left.
    const flowBits = 32 - Math.clz32(this.maxCapacity + 1);
    if (flowBits + DIB_BITS > 32) throw new RangeError(`maxflows ${maxFlows}: too large (at most ${2 ** 25} flows)`);
    this.flowMask = (1 << flowBits) - 1;
    this.dibShift = flowBits;
    this.tagMask = flowBits + DIB_BITS === 32 ? 0 : ~((1 << (flowBits + DIB_BITS)) - 1);
    const preallocate = this.maxCapacity * (BYTES_PER_FLOW + (this.useVlan ? 4 : 0) + (this.useMac ? 12 : 0)) <= PREALLOCATE_BYTES;
    const initial = Math.min(
      Math.max(options.initialCapacity ?? (preallocate ? this.maxCapacity : DEFAULT_INITIAL), 1),
      this.maxCapacity,
    );
    this.wheel = new ExpiryWheel(0, { array: this.rows, stride: ROW, offset: R_EXPIRES });
    this.resize(initial);
    if (preallocate && options.initialCapacity === undefined) {
      // Room for the index the most flows need at load <= 3/4, twice over.
      let region = MIN_INDEX;
      while ((region * 3) >>> 2 < this.maxCapacity) region *= 2;
      this.indexRegion = region;
      this.indexSpace = new ArrayBuffer(2 * region * 4);
    }
    this.setIndexSize(MIN_INDEX);
  }

  /** Flows in the table. */
  get size(): number {
    return this.count;
  }

  /** The packet clock: the latest packet second `update` has seen. */
  get clock(): number {
    return this.clockSec;
  }

  /**
   * Systematic 1-in-N sampling, decided the way softflowd does it so the same packets are kept: a packet is
   * skipped when (packets processed + packets skipped) mod N > 0. As in softflowd, non-IP packets are not
   * "processed", so they shift the phase. A skipped packet still counts toward the maxflows check interval, as it
   * counts in softflowd's dispatch batch. Returns true when the packet should be decoded and given to `update`.
   */
  sample(): boolean {
    const n = this.sampling;
    if (n < 2) return true;
    const st = this.stats;
    if ((st.packetsProcessed + st.nonSampled) % n === 0) return true;
    st.nonSampled++;
    this.tick();
    return false;
  }

  /**
   * Accounts one packet: any decode status, so that ignored packets are counted and the maxflows check interval
   * runs on the packets the source delivered. Returns the index of the flow the packet went to, or -1 if it was
   * ignored; the flow may already be gone again if this packet completed a check interval and it was evicted.
   */
  update(v: PacketView): number {
    const f = this.account(v);
    this.tick();
    return f;
  }

  /** Expires every flow whose expiry second is before `nowSec` (whole seconds); returns how many. */
  scan(nowSec: number): number {
    const n = this.wheel.collectExpired(Math.floor(nowSec), this.out, 0);
    for (let i = 0; i < n; i++) {
      const f = this.out[i]!;
      this.finish(f, this.rows[f << ROW_SHIFT]! >>> REASON_SHIFT);
    }
    return n;
  }

  /**
   * softflowd's check between dispatch batches: expire what is due on the packet clock, then, while there are
   * more than maxFlows flows, evict those that would expire soonest (by expiry second, then creation order).
   * `update` runs it every checkEvery packets; call it once more at the end of the input, before `expireAll`,
   * as softflowd does after its last partial batch. Returns the number evicted.
   */
  enforceMaxFlows(): number {
    this.scan(this.clockSec);
    const excess = this.count - this.maxFlows;
    if (excess <= 0) return 0;
    return this.evict(excess);
  }

  /** Expires every flow (expire-all, shutdown, end of input), in expiry order; returns how many. */
  expireAll(): number {
    const n = this.wheel.ordered(this.seq, this.out);
    this.wheel.clear();
    for (let i = 0; i < n; i++) this.finish(this.out[i]!, R_FLUSHED);
    return n;
  }

  /** Drops every flow without exporting or counting it (softflowctl delete-all); returns how many. */
  deleteAll(): number {
    const n = this.count;
    this.wheel.clear();
    this.index.fill(0);
    this.count = 0;
    this.stats.activeFlows = 0;
    this.freeTop = 0;
    this.high = 0;
    this.extTop = 0;
    this.extHigh = 0;
    return n;
  }

  /** Copies of the active flows in expiry order (expiry second, then creation sequence), for dump-flows. */
  dumpFlows(): ActiveFlow[] {
    const order = new Int32Array(this.count);
    const n = this.wheel.ordered(this.seq, order);
    const flows: ActiveFlow[] = [];
    for (let i = 0; i < n; i++) flows.push(this.describe(order[i]!));
    return flows;
  }

  /**
   * Checks the table's internal invariants (for tests and debugging); returns a description of the first one
   * broken, or null.
   */
  checkIntegrity(): string | null {
    const mask = this.slotMask;
    const index = this.index;
    let used = 0;
    for (let i = 0; i <= mask; i++) {
      const e = index[i]!;
      if (e === 0) continue;
      used++;
      const f = (e & this.flowMask) - 1;
      if (f >= this.high) return `slot ${i} holds flow ${f}, which was never allocated`;
      if (!this.wheel.isFiled(f)) return `slot ${i} holds flow ${f}, which is not on the expiry wheel`;
      const h = this.hashOfFlow(f);
      if (((e ^ h) & this.tagMask) !== 0) return `slot ${i}: stored hash bits differ from flow ${f}'s`;
      const dib = (i - (h & mask)) & mask;
      if (((e >>> this.dibShift) & MAX_DIB) !== dib) return `slot ${i}: stored distance differs from flow ${f}'s ${dib}`;
      for (let j = h & mask; j !== i; j = (j + 1) & mask) {
        if (index[j] === 0) return `flow ${f} at slot ${i} is cut off from its home slot by an empty slot`;
      }
    }
    if (used !== this.count) return `index holds ${used} flows, count is ${this.count}`;
    if (this.wheel.size !== this.count) return `wheel holds ${this.wheel.size} flows, count is ${this.count}`;
    if (this.freeTop + this.count !== this.high) return `free ${this.freeTop} + used ${this.count} != allocated ${this.high}`;
    if (this.count > this.indexLimit) return `index of ${mask + 1} slots holds ${this.count} flows, over its limit`;
    return null;
  }

  // ---- per packet ----

  private tick(): void {
    if (++this.sinceCheck >= this.checkAt) this.check();
  }

  /**
   * The maxflows check, due every checkEvery packets. It is also called once, doing nothing, at packet
   * WARM_CHECK (when that comes before the first check), so that V8 has seen the call when it compiles the
   * per-packet path, which it does long before the first check: a call it had never seen made it throw that
   * compiled code away there and compile it again (--trace-deopt), and one it has seen rarely is left a call.
   */
  private check(): void {
    this.checkAt = this.checkEvery;
    if (this.sinceCheck < this.checkEvery) return;
    this.sinceCheck = 0;
    this.enforceMaxFlows();
  }

  private account(v: PacketView): number {
    const st = this.stats;
    if (v.status !== OK) {
      // softflowd keeps runts in "Packets processed" but takes non-IP out of it.
      if (v.status === TOO_SHORT) {
        st.packetsProcessed++;
        st.tooShort++;
      } else {
        st.nonIp++;
      }
      return -1;
    }
    const ipVersion = v.ipVersion;
    if (ipVersion === 6 && !this.trackV6) {
      st.nonIp++;
      return -1;
    }
    st.packetsProcessed++;
    if (v.fragment !== NOT_FRAGMENT) st.fragments++;

    const half = this.buildKey(v);
    const h = hashKey(this.key, this.keyLen, this.seed);
    const sec = v.tsSec;
    const nsec = v.tsNsec;
    const len = this.linkOctets ? v.linkOctets : v.ipLen;
    // Stored on every packet, not only when the second moves: V8 compiles this function before the capture's
    // first second has passed, and a store it never saw made it throw the compiled code away there and compile
    // it again (--trace-deopt).
    this.clockSec = sec > this.clockSec ? sec : this.clockSec;
    let f = this.find(h);
    if (f !== EMPTY) {
      const b = f << ROW_SHIFT;
      const rows = this.rows;
      if (rows[b + R_EXPIRES]! < sec) {
        // Its time ran out before this packet: the flow ended then, and this packet starts the next one.
        this.finish(f, rows[b]! >>> REASON_SHIFT);
        f = EMPTY;
      } else if (rows[b + R_OCTS + half]! + len > MAX_U32 || rows[b + R_PKTS + half] === MAX_U32) {
        this.finish(f, R_OVERBYTES);
        f = EMPTY;
      }
    }
    let changed = f === EMPTY;
    if (changed) f = this.insert(h, sec);

    // Read after insert, which may have grown the rows.
    const rows = this.rows;
    const b = f << ROW_SHIFT;
    const ph = b + half;
    let start = sec;
    let last = sec;
    if (!changed) {
      // The flow's first and latest second so far, over the halves that have packets.
      const l0 = rows[b + R_LAST_S]!;
      const l1 = rows[b + R_LAST_S + 1]!;
      const f0 = rows[b + R_FIRST_S]!;
      const f1 = rows[b + R_FIRST_S + 1]!;
      const prevLast = l0 > l1 ? l0 : l1;
      const prevStart = rows[b + R_PKTS] === 0 ? f1 : rows[b + R_PKTS + 1] === 0 ? f0 : f0 < f1 ? f0 : f1;
      if (sec > prevLast) changed = true;
      else last = prevLast;
      if (sec < prevStart) changed = true;
      else start = prevStart;
    }
    const flagsTos = rows[b + R_FLAGS]!;
    // >>> 0 keeps it unsigned like the stored word, which has bit 31 set when half 1's ToS is 0x80 or more.
    let nextFlagsTos = (flagsTos | (this.pktFlags << (half << 3))) >>> 0;
    const packets = rows[ph + R_PKTS]!;
    if (packets === 0) {
      nextFlagsTos = (nextFlagsTos | (v.tos << (16 + (half << 3)))) >>> 0;
      if (ipVersion === 6) this.ext[rows[b + K_A0]! * EXT + EXT_LABEL + half] = v.flowLabel;
      rows[ph + R_FIRST_S] = rows[ph + R_LAST_S] = sec;
      this.firstNs[(f << 1) | half] = rows[ph + R_LAST_NS] = nsec;
    } else if (sec > rows[ph + R_LAST_S]! || (sec === rows[ph + R_LAST_S] && nsec > rows[ph + R_LAST_NS]!)) {
      rows[ph + R_LAST_S] = sec;
      rows[ph + R_LAST_NS] = nsec;
    } else {
      // Captures are not always in time order; the times stay the earliest and latest packet.
      const d = (f << 1) | half;
      if (sec < rows[ph + R_FIRST_S]! || (sec === rows[ph + R_FIRST_S] && nsec < this.firstNs[d]!)) {
        rows[ph + R_FIRST_S] = sec;
        this.firstNs[d] = nsec;
      }
    }
    if (nextFlagsTos !== flagsTos) {
      rows[b + R_FLAGS] = nextFlagsTos;
      changed = true;
    }
    rows[ph + R_PKTS] = packets + 1;
    const octets = rows[ph + R_OCTS]! + len;
    rows[ph + R_OCTS] = octets;

    // The rule reads flags, octets over the limit, and the flow's first and last second: when none of them
    // moved (most packets of a busy flow), neither did its expiry.
    if (changed || octets > LIMIT) {
      const rule = this.rule;
      const at = rule.compute(
        this.pktProto,
        ipVersion,
        nextFlagsTos & 0xff,
        (nextFlagsTos >>> 8) & 0xff,
        rows[b + R_OCTS]!,
        rows[b + R_OCTS + 1]!,
        start,
        last,
      );
      rows[b] = (rows[b]! & META_KEY) | (rule.reason << REASON_SHIFT);
      this.wheel.file(f, at);
    }
    return f;
  }

  /** Writes the packet's canonical key into `key` (layout at KEY_WORDS); returns the sender's half. */
  private buildKey(v: PacketView): number {
    const key = this.key;
    const src = v.src;
    const dst = v.dst;
    // memcmp order of the addresses, word by word (the words are big-endian).
    let half = 0;
    for (let i = 0; i < 4; i++) {
      const a = src[i]!;
      const b = dst[i]!;
      if (a !== b) {
        if (a > b) half = 1;
        break;
      }
    }
    const lo = half === 0 ? src : dst;
    const hi = half === 0 ? dst : src;
    let t: number;
    if (v.ipVersion === 6) {
      key[2] = lo[0]!;
      key[3] = lo[1]!;
      key[4] = lo[2]!;
      key[5] = lo[3]!;
      key[6] = hi[0]!;
      key[7] = hi[1]!;
      key[8] = hi[2]!;
      key[9] = hi[3]!;
      t = 10;
    } else {
      key[2] = lo[0]!;
      key[3] = hi[0]!;
      t = 4;
    }

    let sport = v.srcPort;
    let dport = v.dstPort;
    let flags = v.tcpFlags;
    let proto = v.protocol;
    if (this.zeroPorts) {
      // softflowd -T proto|ip: ports and TCP flags go, so RST/FIN never shorten a timeout.
      sport = dport = flags = 0;
    }
    if (this.zeroProto) proto = 0;
    key[K_PORTS] = half === 0 ? (sport << 16) | dport : (dport << 16) | sport;

    let depth = v.mplsDepth;
    if (depth > MAX_LABELS) depth = MAX_LABELS;
    key[K_META] = v.ipVersion | (proto << 8) | (depth << 16);
    // One VLAN field for both directions, so a conversation tagged the same both ways stays one flow.
    if (this.useVlan) key[t++] = ((v.vlan & 0xfff) << 16) | (v.vlanInner & 0xfff);
    if (this.useMac) {
      if (half === 0) {
        key[t] = (v.srcMacHi << 16) | (v.dstMacHi & 0xffff);
        key[t + 1] = v.srcMacLo;
        key[t + 2] = v.dstMacLo;
      } else {
        key[t] = (v.dstMacHi << 16) | (v.srcMacHi & 0xffff);
        key[t + 1] = v.dstMacLo;
        key[t + 2] = v.srcMacLo;
      }
      t += 3;
    }
    const mpls = v.mpls;
    for (let i = 0; i < depth; i++) key[t + i] = mpls[i]!;

    this.keyTail = v.ipVersion === 6 ? 10 : 4;
    this.keyLen = t + depth;
    this.keyDepth = depth;
    this.pktProto = proto;
    this.pktFlags = flags;
    return half;
  }

  private find(h: number): number {
    const index = this.index;
    const rows = this.rows;
    const key = this.key;
    const mask = this.slotMask;
    const flowMask = this.flowMask;
    const dibShift = this.dibShift;
    const tagMask = this.tagMask;
    const k0 = key[K_META]!;
    const k1 = key[K_PORTS]!;
    const k2 = key[K_A0]!;
    const k3 = key[K_A1]!;
    const v6 = this.keyTail === 10;
    const tail = this.keyLen > this.keyTail;
    for (let i = h & mask, d = 0; ; i = (i + 1) & mask, d++) {
      const e = index[i]!;
      if (e === 0) return EMPTY;
      const ed = (e >>> dibShift) & MAX_DIB;
      // Robin Hood: an entry nearer its home than we are to ours means ours is not here.
      if (ed < d) return EMPTY;
      if (ed !== d || ((e ^ h) & tagMask) !== 0) continue;
      const f = (e & flowMask) - 1;
      const b = f << ROW_SHIFT;
      if ((rows[b]! & META_KEY) !== k0 || rows[b + K_PORTS] !== k1) continue;
      if (v6) {
        if (!this.sameV6(rows[b + K_A0]!)) continue;
      } else if (rows[b + K_A0] !== k2 || rows[b + K_A1] !== k3) continue;
      if (tail && !this.sameTail(f)) continue;
      return f;
    }
  }

  /** The packet's IPv6 addresses against extension slot x. */
  private sameV6(x: number): boolean {
    const ext = this.ext;
    const key = this.key;
    const o = x * EXT;
    for (let j = 0; j < 8; j++) if (ext[o + j] !== key[2 + j]) return false;
    return true;
  }

  /** The packet's VLAN, MAC and MPLS key words against flow f's. */
  private sameTail(f: number): boolean {
    const key = this.key;
    let t = this.keyTail;
    if (this.useVlan && this.vlanKey[f] !== key[t++]) return false;
    if (this.useMac) {
      const m = f * 3;
      if (this.macKey[m] !== key[t] || this.macKey[m + 1] !== key[t + 1] || this.macKey[m + 2] !== key[t + 2]) return false;
      t += 3;
    }
    // Word 0 holds the MPLS depth, so equal words so far mean equal depths.
    const depth = this.keyDepth;
    const lb = f * MAX_LABELS;
    for (let j = 0; j < depth; j++) if (this.mplsLabels[lb + j] !== key[t + j]) return false;
    return true;
  }

  private insert(h: number, sec: number): number {
    if (this.freeTop === 0 && this.high === this.capacity) {
      if (this.capacity < this.maxCapacity) this.resize(Math.min(this.capacity * 2, this.maxCapacity));
      // Only reachable if the caller bypasses the check interval; keep the bound anyway.
      else this.evict(1);
    }
    if (this.count >= this.indexLimit) this.setIndexSize(2 * (this.slotMask + 1));
    const f = this.freeTop > 0 ? this.free[--this.freeTop]! : this.high++;
    const b = f << ROW_SHIFT;
    const rows = this.rows;
    const key = this.key;
    for (let j = 0; j < ROW; j++) rows[b + j] = 0;
    rows[b + K_META] = key[K_META]!;
    rows[b + K_PORTS] = key[K_PORTS]!;
    if (this.keyTail === 10) {
      const x = this.allocExt();
      const ext = this.ext;
      const o = x * EXT;
      for (let j = 0; j < 8; j++) ext[o + j] = key[2 + j]!;
      ext[o + EXT_LABEL] = ext[o + EXT_LABEL + 1] = 0;
      rows[b + K_A0] = x;
    } else {
      rows[b + K_A0] = key[K_A0]!;
      rows[b + K_A1] = key[K_A1]!;
    }
    let t = this.keyTail;
    if (this.useVlan) this.vlanKey[f] = key[t++]!;
    if (this.useMac) {
      this.macKey[f * 3] = key[t]!;
      this.macKey[f * 3 + 1] = key[t + 1]!;
      this.macKey[f * 3 + 2] = key[t + 2]!;
      t += 3;
    }
    const depth = this.keyDepth;
    if (depth > 0) {
      if (this.mplsLabels.length === 0) this.mplsLabels = new Uint32Array(this.capacity * MAX_LABELS);
      const lb = f * MAX_LABELS;
      for (let j = 0; j < depth; j++) this.mplsLabels[lb + j] = key[t + j]!;
    }
    this.firstNs[f << 1] = this.firstNs[(f << 1) | 1] = 0;
    if (this.nextSeq > MAX_U32) this.renumber();
    this.seq[f] = this.nextSeq++;

    // A probe too long for its bits (rare at load <= 3/4): twice the slots, with the entry left in hand.
    if (!this.place((f + 1) | (h & this.tagMask), h)) this.setIndexSize(2 * (this.slotMask + 1), this.homeless);

    if (this.wheel.size === 0) this.wheel.rebase(sec);
    this.count++;
    this.stats.activeFlows = this.count;
    return f;
  }

  /** Hash of stored flow f's key: the same words, in the same order, that buildKey writes for its packets. */
  private hashOfFlow(f: number): number {
    const k = this.key2;
    const rows = this.rows;
    const b = f << ROW_SHIFT;
    const meta = rows[b]! & META_KEY;
    k[0] = meta;
    k[1] = rows[b + K_PORTS]!;
    let t: number;
    if ((meta & 0xff) === 6) {
      const o = rows[b + K_A0]! * EXT;
      for (let j = 0; j < 8; j++) k[2 + j] = this.ext[o + j]!;
      t = 10;
    } else {
      k[2] = rows[b + K_A0]!;
      k[3] = rows[b + K_A1]!;
      t = 4;
    }
    if (this.useVlan) k[t++] = this.vlanKey[f]!;
    if (this.useMac) {
      k[t++] = this.macKey[f * 3]!;
      k[t++] = this.macKey[f * 3 + 1]!;
      k[t++] = this.macKey[f * 3 + 2]!;
    }
    const depth = (meta >>> 16) & 0xff;
    for (let j = 0; j < depth; j++) k[t + j] = this.mplsLabels[f * MAX_LABELS + j]!;
    return hashKey(k, t + depth, this.seed);
  }

  /** After 2^32 - 1 flows: number the active ones again from 1, in their creation order. */
  private renumber(): void {
    const live: number[] = [];
    for (let i = 0; i <= this.slotMask; i++) if (this.index[i] !== 0) live.push((this.index[i]! & this.flowMask) - 1);
    live.sort((a, b) => this.seq[a]! - this.seq[b]!);
    for (let i = 0; i < live.length; i++) this.seq[live[i]!] = i + 1;
    this.nextSeq = live.length + 1;
  }

  /** An IPv6 extension slot (there are as many as flows, so one is always free). */
  private allocExt(): number {
    return this.extTop > 0 ? this.extFree[--this.extTop]! : this.extHigh++;
  }

  // ---- leaving the table ----

  private evict(k: number): number {
    const n = this.wheel.collectSoonest(k, this.seq, this.out, 0);
    let bulk = false;
    if (n >= SORT_EVICTED) {
      const mark = this.marks;
      const out = this.out;
      for (let i = 0; i < n; i++) mark[out[i]!] = 1;
      // Many at once (softflowd's eviction takes down to maxflows every maxflows packets: half the table): one
      // pass over the index drops them all, where removing each alone hashed its key again (a read of its row) to
      // find its slot, 85 of 1300 ms in a 3M-packet replay's profile.
      bulk = n * BULK_EVICTED_RATIO >= this.slotMask + 1;
      if (bulk) this.unindexMarked();
      this.sortOut(n);
    }
    this.indexed = !bulk;
    try {
      this.finishOut(n);
    } finally {
      this.indexed = true;
    }
    return n;
  }

  private finishOut(n: number): void {
    for (let i = 0; i < n; i++) this.finish(this.out[i]!, R_MAXFLOWS);
  }

  /**
   * Removes every flow marked in `marks` from the hash index in one pass, keeping the Robin Hood order: starting
   * after an empty slot (no run of entries crosses it), each kept entry moves back to the first free slot of its
   * run, but not before its home slot; the entries of a run are in home order, so they stay so.
   */
  private unindexMarked(): void {
    const index = this.index;
    const mask = this.slotMask;
    const size = mask + 1;
    const flowMask = this.flowMask;
    const dibShift = this.dibShift;
    const dibMask = MAX_DIB << dibShift;
    const mark = this.marks;
    // There is one: the index is at most 3/4 full. (A do-while: an increment that had never run in the first
    // calls, index[0] being empty, made V8 recompile this at the first call that needed it.)
    let s0 = -1;
    do s0++;
    while (index[s0] !== 0);
    // Positions below are counted from s0 (1..size), so runs never wrap.
    let w = 1;
    for (let j = 1; j <= size; j++) {
      const i = (s0 + j) & mask;
      const e = index[i]!;
      if (e === 0) {
        w = j + 1;
        continue;
      }
      index[i] = 0;
      if (mark[(e & flowMask) - 1] !== 0) continue;
      const home = j - ((e >>> dibShift) & MAX_DIB);
      const at = w > home ? w : home;
      index[(s0 + at) & mask] = (e & ~dibMask) | ((at - home) << dibShift);
      w = at + 1;
    }
  }

  /**
   * Puts the marked out[0..n) in index order and clears their marks: the wheel hands them over in list order,
   * scattered over the rows, and finishing them in row order reads memory ahead instead of missing the cache on
   * most flows.
   */
  private sortOut(n: number): void {
    const mark = this.marks;
    const out = this.out;
    let j = 0;
    const high = this.high;
    for (let f = 0; j < n && f < high; f++) {
      if (mark[f] === 0) continue;
      mark[f] = 0;
      out[j++] = f;
    }
  }

  /** Removes flow f, accounts it and hands its records to the sink. */
  private finish(f: number, reason: Reason): void {
    this.wheel.remove(f);
    this.unindex(f);
    this.count--;
    this.free[this.freeTop++] = f;
    const rows = this.rows;
    const b = f << ROW_SHIFT;
    const meta = rows[b]!;
    // The slot's words stay intact until the next insert, like the row's.
    if ((meta & 0xff) === 6) this.extFree[this.extTop++] = rows[b + K_A0]!;
    const st = this.stats;
    st.activeFlows = this.count;
    if (reason === R_MAXFLOWS) st.flowsForced++;
    this.flowSpan(f);
    const duration = this.spanEndS - this.spanStartS + (this.spanEndNs - this.spanStartNs) / 1e9;
    st.recordExpired(
      (meta >>> 8) & 0xff,
      rows[b + R_OCTS]! + rows[b + R_OCTS + 1]!,
      rows[b + R_PKTS]! + rows[b + R_PKTS + 1]!,
      duration > 0 ? duration : 0,
      reason,
    );
    // The row of f stays intact until the next insert, which cannot happen before the sink returns.
    const endReason = END_REASONS[reason]!;
    if (this.biflow) {
      this.fillBiflow(f, endReason);
      this.sink.onFlow(this.record);
      return;
    }
    for (let half = 0; half < 2; half++) {
      if (rows[b + R_PKTS + half] === 0) continue;
      this.fillHalf(f, half, endReason);
      this.sink.onFlow(this.record);
    }
  }

  /**
   * Removes f from the hash index, shifting later entries of its probe run back (no tombstones); nothing while
   * evict finishes flows unindexMarked has taken out already (the call is made either way, so that V8 has seen it
   * whichever kind of finish comes first).
   */
  private unindex(f: number): void {
    if (!this.indexed) return;
    const index = this.index;
    const mask = this.slotMask;
    const flowMask = this.flowMask;
    const dibShift = this.dibShift;
    const want = f + 1;
    let i = this.hashOfFlow(f) & mask;
    while ((index[i]! & flowMask) !== want) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const e = index[j]!;
      // The run ends at an empty slot or an entry in its home slot.
      if (e === 0 || ((e >>> dibShift) & MAX_DIB) === 0) break;
      index[i] = e - (1 << dibShift);
      i = j;
    }
    index[i] = 0;
  }

  /**
   * Places an entry (flow + 1 | tag bits) whose key hashes to h, Robin Hood style: it takes the slot of any entry
   * nearer its own home, which moves on. False when a distance would not fit in its bits; the entry then in hand
   * (the one given or one it displaced) is left for the caller to place after growing the index.
   */
  private place(entry: number, h: number): boolean {
    const index = this.index;
    const mask = this.slotMask;
    const dibShift = this.dibShift;
    const dibMask = MAX_DIB << dibShift;
    let cur = entry;
    let i = h & mask;
    for (let d = 0; d <= MAX_DIB; d++, i = (i + 1) & mask) {
      const e = index[i]!;
      if (e === 0) {
        index[i] = cur | (d << dibShift);
        return true;
      }
      const ed = (e >>> dibShift) & MAX_DIB;
      if (ed < d) {
        index[i] = cur | (d << dibShift);
        cur = e & ~dibMask;
        d = ed;
      }
    }
    this.homeless = cur;
    return false;
  }

  /** Earliest and latest packet time over both halves, into span*. */
  private flowSpan(f: number): void {
    const b = f << ROW_SHIFT;
    const rows = this.rows;
    const fn = this.firstNs;
    const d0 = f << 1;
    // A half without packets has no times; use the other half for both ends then.
    const a = rows[b + R_PKTS]! > 0 ? 0 : 1;
    const c = rows[b + R_PKTS + 1]! > 0 ? 1 : 0;
    const fs = b + R_FIRST_S;
    const s = rows[fs + c]! < rows[fs + a]! || (rows[fs + c] === rows[fs + a] && fn[d0 + c]! < fn[d0 + a]!) ? c : a;
    this.spanStartS = rows[fs + s]!;
    this.spanStartNs = fn[d0 + s]!;
    const ls = b + R_LAST_S;
    const ln = b + R_LAST_NS;
    const e = rows[ls + c]! > rows[ls + a]! || (rows[ls + c] === rows[ls + a] && rows[ln + c]! > rows[ln + a]!) ? c : a;
    this.spanEndS = rows[ls + e]!;
    this.spanEndNs = rows[ln + e]!;
  }

  /** The record of one direction: half h as the source. */
  private fillHalf(f: number, h: number, endReason: number): void {
    const r = this.record;
    const b = f << ROW_SHIFT;
    const rows = this.rows;
    const meta = rows[b]!;
    const ipVersion = meta & 0xff;
    r.ipVersion = ipVersion;
    r.protocol = (meta >>> 8) & 0xff;
    const depth = (meta >>> 16) & 0xff;
    r.mplsDepth = depth;
    if (depth > 0 || this.recordDepth > 0) {
      for (let i = 0; i < MAX_LABELS; i++) r.mpls[i] = i < depth ? this.mplsLabels[f * MAX_LABELS + i]! : 0;
      this.recordDepth = depth;
    }
    r.endReason = endReason;
    r.revPackets = r.revOctets = r.revTcpFlags = r.revTos = 0;

    const src = r.src;
    const dst = r.dst;
    if (ipVersion === 6) {
      const o = rows[b + K_A0]! * EXT;
      const so = o + (h === 0 ? 0 : 4);
      const dso = o + (h === 0 ? 4 : 0);
      for (let i = 0; i < 4; i++) {
        src[i] = this.ext[so + i]!;
        dst[i] = this.ext[dso + i]!;
      }
      r.flowLabel = this.ext[o + EXT_LABEL + h]!;
    } else {
      src[0] = rows[b + K_A0 + h]!;
      dst[0] = rows[b + K_A1 - h]!;
      src[1] = src[2] = src[3] = dst[1] = dst[2] = dst[3] = 0;
      r.flowLabel = 0;
    }
    const ports = rows[b + K_PORTS]!;
    if (h === 0) {
      r.srcPort = ports >>> 16;
      r.dstPort = ports & 0xffff;
    } else {
      r.srcPort = ports & 0xffff;
      r.dstPort = ports >>> 16;
    }
    r.vlan = this.useVlan ? this.vlanKey[f]! >>> 16 : 0;
    if (this.useMac) {
      const m = f * 3;
      const machi = this.macKey[m]!;
      r.srcMacHi = h === 0 ? machi >>> 16 : machi & 0xffff;
      r.dstMacHi = h === 0 ? machi & 0xffff : machi >>> 16;
      r.srcMacLo = this.macKey[m + 1 + h]!;
      r.dstMacLo = this.macKey[m + 2 - h]!;
    } else {
      r.srcMacHi = r.dstMacHi = r.srcMacLo = r.dstMacLo = 0;
    }
    const ph = b + h;
    const flagsTos = rows[b + R_FLAGS]!;
    r.packets = rows[ph + R_PKTS]!;
    r.octets = rows[ph + R_OCTS]!;
    r.tcpFlags = (flagsTos >>> (h << 3)) & 0xff;
    r.tos = (flagsTos >>> (16 + (h << 3))) & 0xff;
    r.startSec = rows[ph + R_FIRST_S]!;
    r.startNsec = this.firstNs[(f << 1) | h]!;
    r.endSec = rows[ph + R_LAST_S]!;
    r.endNsec = rows[ph + R_LAST_NS]!;
    r.direction = h;
  }

  /** RFC 5103 biflow: half 0 forward, half 1 reverse, the whole flow's times (spanStart/End are current). */
  private fillBiflow(f: number, endReason: number): void {
    this.fillHalf(f, 0, endReason);
    const r = this.record;
    const b = f << ROW_SHIFT;
    const flagsTos = this.rows[b + R_FLAGS]!;
    r.revPackets = this.rows[b + R_PKTS + 1]!;
    r.revOctets = this.rows[b + R_OCTS + 1]!;
    r.revTcpFlags = (flagsTos >>> 8) & 0xff;
    r.revTos = flagsTos >>> 24;
    r.startSec = this.spanStartS;
    r.startNsec = this.spanStartNs;
    r.endSec = this.spanEndS;
    r.endNsec = this.spanEndNs;
  }

  private describe(f: number): ActiveFlow {
    const b = f << ROW_SHIFT;
    const k = this.rows;
    const meta = k[b]!;
    const ipVersion = meta & 0xff;
    const depth = (meta >>> 16) & 0xff;
    const flagsTos = k[b + R_FLAGS]!;
    const half = (h: number): FlowHalf => {
      const d = (f << 1) | h;
      return {
        packets: k[b + R_PKTS + h]!,
        octets: k[b + R_OCTS + h]!,
        tcpFlags: (flagsTos >>> (h << 3)) & 0xff,
        tos: (flagsTos >>> (16 + (h << 3))) & 0xff,
        flowLabel: ipVersion === 6 ? this.ext[k[b + K_A0]! * EXT + EXT_LABEL + h]! : 0,
        firstSec: k[b + R_FIRST_S + h]!,
        firstNsec: this.firstNs[d]!,
        lastSec: k[b + R_LAST_S + h]!,
        lastNsec: k[b + R_LAST_NS + h]!,
      };
    };
    const addr = (h: number): Uint32Array => {
      if (ipVersion !== 6) return Uint32Array.of(k[b + K_A0 + h]!, 0, 0, 0);
      const o = k[b + K_A0]! * EXT + 4 * h;
      return this.ext.slice(o, o + 4);
    };
    const vlan = this.useVlan ? this.vlanKey[f]! : 0;
    const m = f * 3;
    const machi = this.useMac ? this.macKey[m]! : 0;
    this.flowSpan(f);
    return {
      seq: this.seq[f]!,
      ipVersion,
      protocol: (meta >>> 8) & 0xff,
      addr: [addr(0), addr(1)],
      port: [k[b + K_PORTS]! >>> 16, k[b + K_PORTS]! & 0xffff],
      halves: [half(0), half(1)],
      startSec: this.spanStartS,
      startNsec: this.spanStartNs,
      endSec: this.spanEndS,
      endNsec: this.spanEndNs,
      vlan: vlan >>> 16,
      vlanInner: vlan & 0xffff,
      macHi: [machi >>> 16, machi & 0xffff],
      macLo: this.useMac ? [this.macKey[m + 1]!, this.macKey[m + 2]!] : [0, 0],
      mpls: depth > 0 ? Array.from(this.mplsLabels.subarray(f * MAX_LABELS, f * MAX_LABELS + depth)) : [],
      expiresAt: k[b + R_EXPIRES]!,
      reason: (meta >>> REASON_SHIFT) as Reason,
    };
  }

  // ---- storage ----

  /** Grows every per-flow array to `cap` flows (the first call allocates them). */
  private resize(cap: number): void {
    this.rows = carry(this.rows, lineAlignedUint32(cap * ROW));
    this.firstNs = carry(this.firstNs, new Uint32Array(2 * cap));
    this.seq = carry(this.seq, new Uint32Array(cap));
    if (this.useVlan) this.vlanKey = carry(this.vlanKey, new Uint32Array(cap));
    if (this.useMac) this.macKey = carry(this.macKey, new Uint32Array(3 * cap));
    if (this.mplsLabels.length) this.mplsLabels = carry(this.mplsLabels, new Uint32Array(cap * MAX_LABELS));
    this.free = carry(this.free, new Int32Array(cap));
    this.ext = carry(this.ext, new Uint32Array(cap * EXT));
    this.extFree = carry(this.extFree, new Int32Array(cap));
    this.out = new Int32Array(cap);
    this.marks = new Uint8Array(cap);
    this.wheel.grow(cap, this.rows);
    this.capacity = cap;
  }

  /**
   * An empty index of `size` slots. With the table reserved in full, indices alternate between the two halves of
   * one buffer reserved for the largest, so growing reuses the pages of the index before last instead of leaving
   * a garbage array per growth (8 MiB of resident garbage at a million flows, until a full collection).
   */
  private newIndex(size: number, old: Uint32Array): Uint32Array {
    const half = this.indexRegion;
    if (half === 0 || size > half) return new Uint32Array(size);
    // The half the current index is not in.
    const at = old.buffer === this.indexSpace && old.byteOffset === 0 ? half * 4 : 0;
    const index = new Uint32Array(this.indexSpace!, at, size);
    index.fill(0);
    return index;
  }

  /**
   * Rebuilds the hash index with at least `size` slots (a power of two), for up to 3/4 of it in flows; `homeless`
   * is an entry (flow + 1 | tag bits) in none of the old slots that must be placed too (see place()).
   */
  private setIndexSize(size: number, homeless = 0): void {
    const old = this.index;
    const flowMask = this.flowMask;
    const dibMask = MAX_DIB << this.dibShift;
    for (;;) {
      this.index = this.newIndex(size, old);
      this.slotMask = size - 1;
      this.indexLimit = (size * 3) >>> 2;
      let ok = homeless === 0 || this.place(homeless, this.hashOfFlow((homeless & flowMask) - 1));
      for (let i = 0; ok && i < old.length; i++) {
        const e = old[i]!;
        if (e === 0) continue;
        const plain = e & ~dibMask;
        ok = this.place(plain, this.hashOfFlow((plain & flowMask) - 1));
      }
      if (ok) {
        // The half grown out of is not read again until newIndex clears it for a later growth: give its pages
        // back meanwhile (4 MiB at a million flows, some 4 bytes per flow of resident memory).
        if (old.buffer === this.indexSpace && old.length > 0) addon.releasePages(old);
        return;
      }
      size *= 2;
    }
  }
}

/** MurmurHash3's 32-bit block mixing and finaliser over the first n words of the key. */
function hashKey(k: Uint32Array, n: number, seed: number): number {
  let h = seed;
  for (let i = 0; i < n; i++) {
    let w = Math.imul(k[i]!, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    w = Math.imul(w, 0x1b873593);
    h ^= w;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
