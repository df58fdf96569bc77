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
import { carry } from './arrays.js';
import { ExpiryWheel } from './wheel.js';

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
  /** Flows allocated up front (default 1024, at most the maximum). */
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
 * Storage. Each flow has a 128-byte row in one ArrayBuffer, read through a Uint32Array and a Float64Array view:
 * everything a packet of an existing flow reads or writes (key, counters, latest times, flags, expiry second)
 * sits in two adjacent cache lines. With one typed array per field a packet touched a dozen or more lines; the
 * rows measured about 1.35x faster (uniformly random packets on this 2-core box: 100k flows 1.4 -> 2.0 Mpps,
 * 5k flows 7.3 -> 9.5 Mpps). Fields only the first packet of a direction or the export needs (first times, flow
 * label, MPLS labels, creation sequence) stay in arrays of their own. Seconds are stored as u32, as capture
 * timestamps are (good until 2106); counters are doubles, so they never wrap.
 *
 * Row, in 32-bit words (the Float64 view addresses the same bytes in 8-byte units):
 *   0      ipVersion | protocol << 8 | MPLS depth << 16
 *   1      port of half 0 << 16 | port of half 1
 *   2-5    half 0 (lower) address        6-9   half 1 address
 *   10     outer VLAN id << 16 | inner VLAN id (only -T vlan|ether)
 *   11     MAC high 16 bits: half 0 << 16 | half 1;  12, 13: MAC low 32 bits of half 0, half 1 (only -T ether)
 *   14     TCP flags half 0 | half 1 << 8 | ToS half 0 << 16 | ToS half 1 << 24
 *   15     expiry second (a copy of the wheel's, read by every packet)
 *   16-23  Float64 packets half 0, half 1, octets half 0, half 1
 *   24-25  latest packet second per half     26-27  its nanoseconds
 *   28     first packet second of the flow    29     latest packet second of the flow
 *   30     pending Reason                     31     unused
 */
const ROW_WORDS = 32;
const ROW_F64 = ROW_WORDS / 2;
const K_META = 0;
const K_PORTS = 1;
const K_ADDR0 = 2;
const K_ADDR1 = 6;
const K_VLAN = 10;
const K_MACHI = 11;
const K_MAC0LO = 12;
const K_MAC1LO = 13;
/** Key words stored in the row; the MPLS labels follow them in the scratch key and live in `mplsLabels`. */
const K_FIXED = 14;
const R_FLAGS = 14;
const R_EXPIRES = 15;
const F_PKTS = 8; // Float64 index within the row
const F_OCTS = 10;
const R_LAST_S = 24;
const R_LAST_NS = 26;
const R_START = 28;
const R_LAST = 29;
const R_PENDING = 30;

// Imported enum members and constants copied into module constants: under tsx (how bin/ runs us) an imported
// binding is read through a getter on every access, which profiled at a quarter of the per-packet time.
const OK: number = DecodeStatus.OK;
const TOO_SHORT: number = DecodeStatus.TOO_SHORT;
const NOT_FRAGMENT: number = Fragment.NONE;
const MAX_LABELS: number = MAX_MPLS_LABELS;
const R_MAXFLOWS: Reason = Reason.MAXFLOWS;
const R_FLUSHED: Reason = Reason.FLUSHED;
const END_REASONS: Readonly<Uint8Array> = END_REASON;
const LIMIT: number = OVERBYTES_LIMIT;

const EMPTY = -1;
const DEFAULT_MAX_FLOWS = 8192;
const DEFAULT_INITIAL = 1024;

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
  private nextSeq = 1;
  private sinceCheck = 0;
  /** Latest packet second seen: the packet clock. */
  private clockSec = 0;

  /** The rows, as words and as doubles. */
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);
  // Cold, per flow.
  private mplsLabels: Uint32Array = new Uint32Array(0);
  private flowHash: Int32Array = new Int32Array(0);
  private seq: Float64Array = new Float64Array(0);
  // Cold, per direction (index 2*flow + half).
  private firstS: Float64Array = new Float64Array(0);
  private firstNs: Uint32Array = new Uint32Array(0);
  private flowLabel: Uint32Array = new Uint32Array(0);

  private free: Int32Array = new Int32Array(0);
  private freeTop = 0;
  /** Hash index: pairs of (flow, hash), linear probing. */
  private index: Int32Array = new Int32Array(0);
  private slotMask = 0;
  private readonly wheel: ExpiryWheel;
  /** Flows taken off the wheel by a scan or eviction. */
  private out: Int32Array = new Int32Array(0);

  // The key of the packet being processed (row words 0-13, then the MPLS labels), and what buildKey derived.
  private readonly key = new Uint32Array(K_FIXED + MAX_MPLS_LABELS);
  private keyDepth = 0;
  private pktProto = 0;
  private pktFlags = 0;

  private readonly record = new FlowRecord();
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
    const initial = Math.min(Math.max(options.initialCapacity ?? DEFAULT_INITIAL, 1), this.maxCapacity);
    this.wheel = new ExpiryWheel(0);
    this.resize(initial);
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
      const f = this.out[i];
      this.finish(f, this.u32[f * ROW_WORDS + R_PENDING]);
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
    for (let i = 0; i < n; i++) this.finish(this.out[i], R_FLUSHED);
    return n;
  }

  /** Drops every flow without exporting or counting it (softflowctl delete-all); returns how many. */
  deleteAll(): number {
    const n = this.count;
    this.wheel.clear();
    this.index.fill(EMPTY);
    this.count = 0;
    this.stats.activeFlows = 0;
    this.freeTop = 0;
    for (let f = this.capacity - 1; f >= 0; f--) this.free[this.freeTop++] = f;
    return n;
  }

  /** Copies of the active flows in expiry order (expiry second, then creation sequence), for dump-flows. */
  dumpFlows(): ActiveFlow[] {
    const order = new Int32Array(this.count);
    const n = this.wheel.ordered(this.seq, order);
    const flows: ActiveFlow[] = [];
    for (let i = 0; i < n; i++) flows.push(this.describe(order[i]));
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
      const f = index[2 * i];
      if (f === EMPTY) continue;
      used++;
      if (!this.wheel.isFiled(f)) return `slot ${i} holds flow ${f}, which is not on the expiry wheel`;
      if (index[2 * i + 1] !== this.flowHash[f]) return `slot ${i}: stored hash differs from flow ${f}'s`;
      if (this.wheel.expiresAt[f] !== this.u32[f * ROW_WORDS + R_EXPIRES]) return `flow ${f}: expiry copies differ`;
      for (let j = this.flowHash[f] & mask; j !== i; j = (j + 1) & mask) {
        if (index[2 * j] === EMPTY) return `flow ${f} at slot ${i} is cut off from its home slot by an empty slot`;
      }
    }
    if (used !== this.count) return `index holds ${used} flows, count is ${this.count}`;
    if (this.wheel.size !== this.count) return `wheel holds ${this.wheel.size} flows, count is ${this.count}`;
    if (this.freeTop + this.count !== this.capacity) return `free ${this.freeTop} + used ${this.count} != ${this.capacity}`;
    return null;
  }

  // ---- per packet ----

  private tick(): void {
    if (++this.sinceCheck >= this.checkEvery) {
      this.sinceCheck = 0;
      this.enforceMaxFlows();
    }
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
    const h = hashKey(this.key, K_FIXED + this.keyDepth, this.seed);
    const sec = v.tsSec;
    const nsec = v.tsNsec;
    if (sec > this.clockSec) this.clockSec = sec;
    let f = this.find(h);
    if (f !== EMPTY && this.u32[f * ROW_WORDS + R_EXPIRES] < sec) {
      // Its time ran out before this packet: the flow ended then, and this packet starts the next one.
      this.finish(f, this.u32[f * ROW_WORDS + R_PENDING]);
      f = EMPTY;
    }
    let changed = f === EMPTY;
    if (changed) f = this.insert(h, sec);

    // Read after insert, which may have grown the rows.
    const u32 = this.u32;
    const b = f * ROW_WORDS;
    const fb = f * ROW_F64;
    const f64 = this.f64;
    const flagsTos = u32[b + R_FLAGS];
    // >>> 0 keeps it unsigned like the stored word, which has bit 31 set when half 1's ToS is 0x80 or more.
    let nextFlagsTos = (flagsTos | (this.pktFlags << (half << 3))) >>> 0;
    if (f64[fb + F_PKTS + half] === 0) {
      nextFlagsTos = (nextFlagsTos | (v.tos << (16 + (half << 3)))) >>> 0;
      const d = (f << 1) | half;
      this.flowLabel[d] = v.flowLabel;
      this.firstS[d] = u32[b + R_LAST_S + half] = sec;
      this.firstNs[d] = u32[b + R_LAST_NS + half] = nsec;
    } else if (sec > u32[b + R_LAST_S + half] || (sec === u32[b + R_LAST_S + half] && nsec > u32[b + R_LAST_NS + half])) {
      u32[b + R_LAST_S + half] = sec;
      u32[b + R_LAST_NS + half] = nsec;
    } else {
      // Captures are not always in time order; the times stay the earliest and latest packet.
      const d = (f << 1) | half;
      if (sec < this.firstS[d] || (sec === this.firstS[d] && nsec < this.firstNs[d])) {
        this.firstS[d] = sec;
        this.firstNs[d] = nsec;
      }
    }
    if (nextFlagsTos !== flagsTos) {
      u32[b + R_FLAGS] = nextFlagsTos;
      changed = true;
    }
    f64[fb + F_PKTS + half] += 1;
    const octets = (f64[fb + F_OCTS + half] += this.linkOctets ? v.linkOctets : v.ipLen);
    if (sec > u32[b + R_LAST]) {
      u32[b + R_LAST] = sec;
      changed = true;
    } else if (sec < u32[b + R_START]) {
      u32[b + R_START] = sec;
      changed = true;
    }

    // The rule reads flags, octets over the limit, and the flow's first and last second: when none of them
    // moved (most packets of a busy flow), neither did its expiry.
    if (changed || octets > LIMIT) {
      const at = this.rule.compute(
        this.pktProto,
        ipVersion,
        nextFlagsTos & 0xff,
        (nextFlagsTos >>> 8) & 0xff,
        f64[fb + F_OCTS],
        f64[fb + F_OCTS + 1],
        u32[b + R_START],
        u32[b + R_LAST],
      );
      u32[b + R_PENDING] = this.rule.reason;
      u32[b + R_EXPIRES] = at;
      this.wheel.file(f, at);
    }
    return f;
  }

  /** Writes the packet's canonical key into `key`; returns the sender's half. */
  private buildKey(v: PacketView): number {
    const key = this.key;
    const src = v.src;
    const dst = v.dst;
    // memcmp order of the addresses, word by word (the words are big-endian).
    let half = 0;
    for (let i = 0; i < 4; i++) {
      const a = src[i];
      const b = dst[i];
      if (a !== b) {
        if (a > b) half = 1;
        break;
      }
    }
    const lo = half === 0 ? src : dst;
    const hi = half === 0 ? dst : src;
    key[K_ADDR0] = lo[0];
    key[K_ADDR0 + 1] = lo[1];
    key[K_ADDR0 + 2] = lo[2];
    key[K_ADDR0 + 3] = lo[3];
    key[K_ADDR1] = hi[0];
    key[K_ADDR1 + 1] = hi[1];
    key[K_ADDR1 + 2] = hi[2];
    key[K_ADDR1 + 3] = hi[3];

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
    key[K_VLAN] = this.useVlan ? ((v.vlan & 0xfff) << 16) | (v.vlanInner & 0xfff) : 0;
    if (!this.useMac) {
      key[K_MACHI] = key[K_MAC0LO] = key[K_MAC1LO] = 0;
    } else if (half === 0) {
      key[K_MACHI] = (v.srcMacHi << 16) | (v.dstMacHi & 0xffff);
      key[K_MAC0LO] = v.srcMacLo;
      key[K_MAC1LO] = v.dstMacLo;
    } else {
      key[K_MACHI] = (v.dstMacHi << 16) | (v.srcMacHi & 0xffff);
      key[K_MAC0LO] = v.dstMacLo;
      key[K_MAC1LO] = v.srcMacLo;
    }
    const mpls = v.mpls;
    for (let i = 0; i < depth; i++) key[K_FIXED + i] = mpls[i];

    this.keyDepth = depth;
    this.pktProto = proto;
    this.pktFlags = flags;
    return half;
  }

  private find(h: number): number {
    const index = this.index;
    const u32 = this.u32;
    const key = this.key;
    const mask = this.slotMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const f = index[2 * i];
      if (f === EMPTY) return EMPTY;
      if (index[2 * i + 1] !== h) continue;
      const b = f * ROW_WORDS;
      let j = 0;
      while (j < K_FIXED && u32[b + j] === key[j]) j++;
      if (j < K_FIXED) continue;
      // Word 0 holds the MPLS depth, so equal words so far mean equal depths.
      const depth = this.keyDepth;
      if (depth === 0) return f;
      const lb = f * MAX_LABELS;
      j = 0;
      while (j < depth && this.mplsLabels[lb + j] === key[K_FIXED + j]) j++;
      if (j === depth) return f;
    }
  }

  private insert(h: number, sec: number): number {
    if (this.count === this.capacity) {
      if (this.capacity < this.maxCapacity) this.resize(Math.min(this.capacity * 2, this.maxCapacity));
      // Only reachable if the caller bypasses the check interval; keep the bound anyway.
      else this.evict(1);
    }
    const f = this.free[--this.freeTop];
    const b = f * ROW_WORDS;
    const u32 = this.u32;
    u32.fill(0, b, b + ROW_WORDS);
    const key = this.key;
    for (let j = 0; j < K_FIXED; j++) u32[b + j] = key[j];
    const lb = f * MAX_LABELS;
    for (let j = 0; j < MAX_LABELS; j++) this.mplsLabels[lb + j] = j < this.keyDepth ? key[K_FIXED + j] : 0;
    u32[b + R_START] = u32[b + R_LAST] = sec;
    const d = f << 1;
    this.firstS[d] = this.firstS[d + 1] = 0;
    this.firstNs[d] = this.firstNs[d + 1] = 0;
    this.flowLabel[d] = this.flowLabel[d + 1] = 0;
    this.flowHash[f] = h;
    this.seq[f] = this.nextSeq++;

    const index = this.index;
    const mask = this.slotMask;
    let i = h & mask;
    while (index[2 * i] !== EMPTY) i = (i + 1) & mask;
    index[2 * i] = f;
    index[2 * i + 1] = h;

    if (this.wheel.size === 0) this.wheel.rebase(sec);
    this.count++;
    this.stats.activeFlows = this.count;
    return f;
  }

  // ---- leaving the table ----

  private evict(k: number): number {
    const n = this.wheel.collectSoonest(k, this.seq, this.out, 0);
    for (let i = 0; i < n; i++) this.finish(this.out[i], R_MAXFLOWS);
    return n;
  }

  /** Removes flow f, accounts it and hands its records to the sink. */
  private finish(f: number, reason: Reason): void {
    this.wheel.remove(f);
    this.unindex(f);
    this.count--;
    this.free[this.freeTop++] = f;
    const st = this.stats;
    st.activeFlows = this.count;
    if (reason === R_MAXFLOWS) st.flowsForced++;
    const fb = f * ROW_F64;
    const f64 = this.f64;
    this.flowSpan(f);
    const duration = this.spanEndS - this.spanStartS + (this.spanEndNs - this.spanStartNs) / 1e9;
    st.recordExpired(
      (this.u32[f * ROW_WORDS + K_META] >>> 8) & 0xff,
      f64[fb + F_OCTS] + f64[fb + F_OCTS + 1],
      f64[fb + F_PKTS] + f64[fb + F_PKTS + 1],
      duration > 0 ? duration : 0,
      reason,
    );
    // The row of f stays intact until the next insert, which cannot happen before the sink returns.
    const endReason = END_REASONS[reason];
    if (this.biflow) {
      this.fillBiflow(f, endReason);
      this.sink.onFlow(this.record);
      return;
    }
    for (let half = 0; half < 2; half++) {
      if (f64[fb + F_PKTS + half] === 0) continue;
      this.fillHalf(f, half, endReason);
      this.sink.onFlow(this.record);
    }
  }

  /** Removes f from the hash index, shifting later entries of its probe run back (no tombstones). */
  private unindex(f: number): void {
    const index = this.index;
    const mask = this.slotMask;
    let i = this.flowHash[f] & mask;
    while (index[2 * i] !== f) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; index[2 * j] !== EMPTY; j = (j + 1) & mask) {
      const home = index[2 * j + 1] & mask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        index[2 * i] = index[2 * j];
        index[2 * i + 1] = index[2 * j + 1];
        i = j;
      }
    }
    index[2 * i] = EMPTY;
  }

  /** Earliest and latest packet time over both halves, into span*. */
  private flowSpan(f: number): void {
    const b = f * ROW_WORDS;
    const fb = f * ROW_F64;
    const d0 = f << 1;
    const u32 = this.u32;
    // A half without packets has no times; use the other half for both ends then.
    const a = this.f64[fb + F_PKTS] > 0 ? 0 : 1;
    const c = this.f64[fb + F_PKTS + 1] > 0 ? 1 : 0;
    const fs = this.firstS;
    const fn = this.firstNs;
    const s = fs[d0 + c] < fs[d0 + a] || (fs[d0 + c] === fs[d0 + a] && fn[d0 + c] < fn[d0 + a]) ? c : a;
    this.spanStartS = fs[d0 + s];
    this.spanStartNs = fn[d0 + s];
    const ls = b + R_LAST_S;
    const ln = b + R_LAST_NS;
    const e = u32[ls + c] > u32[ls + a] || (u32[ls + c] === u32[ls + a] && u32[ln + c] > u32[ln + a]) ? c : a;
    this.spanEndS = u32[ls + e];
    this.spanEndNs = u32[ln + e];
  }

  /** The record of one direction: half h as the source. */
  private fillHalf(f: number, h: number, endReason: number): void {
    const r = this.record;
    const b = f * ROW_WORDS;
    const u32 = this.u32;
    const meta = u32[b + K_META];
    r.ipVersion = meta & 0xff;
    r.protocol = (meta >>> 8) & 0xff;
    const depth = (meta >>> 16) & 0xff;
    r.mplsDepth = depth;
    for (let i = 0; i < MAX_LABELS; i++) r.mpls[i] = this.mplsLabels[f * MAX_LABELS + i];
    r.vlan = u32[b + K_VLAN] >>> 16;
    r.postVlan = 0;
    r.endReason = endReason;
    r.nextHop.fill(0);
    r.inputIf = r.outputIf = 0;
    r.srcAs = r.dstAs = r.srcMask = r.dstMask = 0;
    r.revPackets = r.revOctets = r.revTcpFlags = r.revTos = 0;

    const sa = b + (h === 0 ? K_ADDR0 : K_ADDR1);
    const da = b + (h === 0 ? K_ADDR1 : K_ADDR0);
    for (let i = 0; i < 4; i++) {
      r.src[i] = u32[sa + i];
      r.dst[i] = u32[da + i];
    }
    const ports = u32[b + K_PORTS];
    const machi = u32[b + K_MACHI];
    if (h === 0) {
      r.srcPort = ports >>> 16;
      r.dstPort = ports & 0xffff;
      r.srcMacHi = machi >>> 16;
      r.dstMacHi = machi & 0xffff;
      r.srcMacLo = u32[b + K_MAC0LO];
      r.dstMacLo = u32[b + K_MAC1LO];
    } else {
      r.srcPort = ports & 0xffff;
      r.dstPort = ports >>> 16;
      r.srcMacHi = machi & 0xffff;
      r.dstMacHi = machi >>> 16;
      r.srcMacLo = u32[b + K_MAC1LO];
      r.dstMacLo = u32[b + K_MAC0LO];
    }
    const fb = f * ROW_F64;
    const d = (f << 1) | h;
    const flagsTos = u32[b + R_FLAGS];
    r.packets = this.f64[fb + F_PKTS + h];
    r.octets = this.f64[fb + F_OCTS + h];
    r.tcpFlags = (flagsTos >>> (h << 3)) & 0xff;
    r.tos = (flagsTos >>> (16 + (h << 3))) & 0xff;
    r.flowLabel = this.flowLabel[d];
    r.startSec = this.firstS[d];
    r.startNsec = this.firstNs[d];
    r.endSec = u32[b + R_LAST_S + h];
    r.endNsec = u32[b + R_LAST_NS + h];
    r.direction = h;
  }

  /** RFC 5103 biflow: half 0 forward, half 1 reverse, the whole flow's times (spanStart/End are current). */
  private fillBiflow(f: number, endReason: number): void {
    this.fillHalf(f, 0, endReason);
    const r = this.record;
    const flagsTos = this.u32[f * ROW_WORDS + R_FLAGS];
    r.revPackets = this.f64[f * ROW_F64 + F_PKTS + 1];
    r.revOctets = this.f64[f * ROW_F64 + F_OCTS + 1];
    r.revTcpFlags = (flagsTos >>> 8) & 0xff;
    r.revTos = flagsTos >>> 24;
    r.startSec = this.spanStartS;
    r.startNsec = this.spanStartNs;
    r.endSec = this.spanEndS;
    r.endNsec = this.spanEndNs;
  }

  private describe(f: number): ActiveFlow {
    const b = f * ROW_WORDS;
    const k = this.u32;
    const meta = k[b + K_META];
    const depth = (meta >>> 16) & 0xff;
    const flagsTos = k[b + R_FLAGS];
    const half = (h: number): FlowHalf => {
      const d = (f << 1) | h;
      return {
        packets: this.f64[f * ROW_F64 + F_PKTS + h],
        octets: this.f64[f * ROW_F64 + F_OCTS + h],
        tcpFlags: (flagsTos >>> (h << 3)) & 0xff,
        tos: (flagsTos >>> (16 + (h << 3))) & 0xff,
        flowLabel: this.flowLabel[d],
        firstSec: this.firstS[d],
        firstNsec: this.firstNs[d],
        lastSec: k[b + R_LAST_S + h],
        lastNsec: k[b + R_LAST_NS + h],
      };
    };
    this.flowSpan(f);
    return {
      seq: this.seq[f],
      ipVersion: meta & 0xff,
      protocol: (meta >>> 8) & 0xff,
      addr: [k.slice(b + K_ADDR0, b + K_ADDR0 + 4), k.slice(b + K_ADDR1, b + K_ADDR1 + 4)],
      port: [k[b + K_PORTS] >>> 16, k[b + K_PORTS] & 0xffff],
      halves: [half(0), half(1)],
      startSec: this.spanStartS,
      startNsec: this.spanStartNs,
      endSec: this.spanEndS,
      endNsec: this.spanEndNs,
      vlan: k[b + K_VLAN] >>> 16,
      vlanInner: k[b + K_VLAN] & 0xffff,
      macHi: [k[b + K_MACHI] >>> 16, k[b + K_MACHI] & 0xffff],
      macLo: [k[b + K_MAC0LO], k[b + K_MAC1LO]],
      mpls: Array.from(this.mplsLabels.subarray(f * MAX_LABELS, f * MAX_LABELS + depth)),
      expiresAt: k[b + R_EXPIRES],
      reason: k[b + R_PENDING] as Reason,
    };
  }

  // ---- storage ----

  /** Grows every array to `cap` flows and rebuilds the hash index at load <= 1/2. */
  private resize(cap: number): void {
    const old = this.capacity;
    const rows = new ArrayBuffer(cap * ROW_WORDS * 4);
    new Uint32Array(rows).set(this.u32);
    this.u32 = new Uint32Array(rows);
    this.f64 = new Float64Array(rows);
    this.mplsLabels = carry(this.mplsLabels, new Uint32Array(cap * MAX_LABELS));
    this.flowHash = carry(this.flowHash, new Int32Array(cap));
    this.seq = carry(this.seq, new Float64Array(cap));
    this.firstS = carry(this.firstS, new Float64Array(2 * cap));
    this.firstNs = carry(this.firstNs, new Uint32Array(2 * cap));
    this.flowLabel = carry(this.flowLabel, new Uint32Array(2 * cap));
    this.wheel.grow(cap);
    this.out = new Int32Array(cap);

    // New indices go under the free ones so the lowest index is handed out first.
    const free = new Int32Array(cap);
    let top = 0;
    for (let f = cap - 1; f >= old; f--) free[top++] = f;
    for (let i = 0; i < this.freeTop; i++) free[top++] = this.free[i];
    this.free = free;
    this.freeTop = top;

    let size = 16;
    while (size < 2 * cap) size *= 2;
    const oldIndex = this.index;
    const index = new Int32Array(2 * size).fill(EMPTY);
    const mask = size - 1;
    for (let i = 0; i < oldIndex.length; i += 2) {
      const f = oldIndex[i];
      if (f === EMPTY) continue;
      let j = oldIndex[i + 1] & mask;
      while (index[2 * j] !== EMPTY) j = (j + 1) & mask;
      index[2 * j] = f;
      index[2 * j + 1] = oldIndex[i + 1];
    }
    this.index = index;
    this.slotMask = mask;
    this.capacity = cap;
  }
}

/** MurmurHash3's 32-bit block mixing and finaliser over the first n words of the key. */
function hashKey(k: Uint32Array, n: number, seed: number): number {
  let h = seed;
  for (let i = 0; i < n; i++) {
    let w = Math.imul(k[i], 0xcc9e2d51);
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
