/**
 * The shared memory between the probe and its export thread (thread.ts, export-worker.ts): a ring of 32-bit words
 * that carries flow records and exporter commands one way, two control words saying how far each side got, and
 * counters the export thread keeps for the probe's statistics.
 *
 * One writer (the probe) and one reader (the export thread). Positions are word counts modulo 2^32; a message is
 * a header word (op << 24 | length in words, header included) and its payload, and may wrap around the ring's end.
 */
import type { FlowRecord } from '../wire/record.js';

/** Words in the ring (a power of two): 4 MiB, some 65,000 IPv4 records. */
export const RING_WORDS = 1 << 20;
export const RING_MASK = RING_WORDS - 1;
/** Room a record may take: the header and every group below. */
export const MAX_RECORD_WORDS = 64;

/** Control words (Int32Array at the start of the buffer). */
export const CTRL_WRITE = 0;
export const CTRL_READ = 1;
export const CTRL_DRAINED = 2;
/** 1 while the export thread sleeps long, having found no work for a while: the probe then wakes it to publish. */
export const CTRL_IDLE = 3;
const CTRL_WORDS = 4;
/** Counters (Float64Array after the control words), written by the export thread. */
export const C_RECORDS = 0;
export const C_DATAGRAMS = 1;
export const C_SKIPPED = 2;
export const C_SENT = 3;
export const C_FAILURES = 4;
export const C_PENDING = 5;
const COUNTERS = 8;

export const OP_RECORD = 1;
export const OP_CLOCK = 2;
export const OP_FLUSH = 3;
export const OP_TEMPLATES = 4;
export const OP_FLUSH_TEMPLATES = 5;
export const OP_DRAIN = 6;
export const OP_CLOSE = 7;

export interface RingViews {
  ctrl: Int32Array;
  counters: Float64Array;
  ring: Uint32Array;
}

export function newRingBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CTRL_WORDS * 4 + COUNTERS * 8 + RING_WORDS * 4);
}

export function ringViews(sab: SharedArrayBuffer): RingViews {
  return {
    ctrl: new Int32Array(sab, 0, CTRL_WORDS),
    counters: new Float64Array(sab, CTRL_WORDS * 4, COUNTERS),
    ring: new Uint32Array(sab, CTRL_WORDS * 4 + COUNTERS * 8, RING_WORDS),
  };
}

// Record groups beyond the core, present when any of their fields is not 0.
const G_V6 = 1;
const G_L2 = 2;
const G_MPLS = 4;
const G_REV = 8;
const G_ROUTE = 16;
const G_EXPORTER = 32;
const TWO32 = 2 ** 32;

/**
 * Writes `r` as a record message at position w (room for MAX_RECORD_WORDS must be free); returns the position
 * after it. Counters (packets, octets) go as two words, so any value a FlowRecord holds survives.
 */
export function writeRecord(ring: Uint32Array, w: number, r: FlowRecord): number {
  const m = RING_MASK;
  const src = r.src;
  const dst = r.dst;
  let groups = 0;
  if (r.ipVersion === 6 || (src[1]! | src[2]! | src[3]! | dst[1]! | dst[2]! | dst[3]!) !== 0) groups |= G_V6;
  if ((r.vlan | r.postVlan | r.srcMacHi | r.srcMacLo | r.dstMacHi | r.dstMacLo | r.flowLabel) !== 0) groups |= G_L2;
  if (r.mplsDepth > 0) groups |= G_MPLS;
  if (r.revPackets !== 0 || r.revOctets !== 0 || (r.revTcpFlags | r.revTos) !== 0) groups |= G_REV;
  const nh = r.nextHop;
  if ((nh[0]! | nh[1]! | nh[2]! | nh[3]! | r.inputIf | r.outputIf | r.srcAs | r.dstAs | r.srcMask | r.dstMask) !== 0) groups |= G_ROUTE;
  if (r.exporterVersion !== 0) groups |= G_EXPORTER;
  const start = w;
  w++;
  ring[w++ & m] = r.ipVersion | (r.protocol << 8) | (r.tcpFlags << 16) | (r.tos << 24);
  ring[w++ & m] = (r.srcPort << 16) | (r.dstPort & 0xffff);
  ring[w++ & m] = r.direction | (r.endReason << 8) | (r.mplsDepth << 16) | (groups << 24);
  ring[w++ & m] = r.packets;
  ring[w++ & m] = Math.floor(r.packets / TWO32);
  ring[w++ & m] = r.octets;
  ring[w++ & m] = Math.floor(r.octets / TWO32);
  ring[w++ & m] = r.startSec;
  ring[w++ & m] = r.startNsec;
  ring[w++ & m] = r.endSec;
  ring[w++ & m] = r.endNsec;
  ring[w++ & m] = src[0]!;
  ring[w++ & m] = dst[0]!;
  if (groups & G_V6) {
    for (let i = 1; i < 4; i++) ring[w++ & m] = src[i]!;
    for (let i = 1; i < 4; i++) ring[w++ & m] = dst[i]!;
  }
  if (groups & G_L2) {
    ring[w++ & m] = r.vlan;
    ring[w++ & m] = r.postVlan;
    ring[w++ & m] = r.srcMacHi;
    ring[w++ & m] = r.srcMacLo;
    ring[w++ & m] = r.dstMacHi;
    ring[w++ & m] = r.dstMacLo;
    ring[w++ & m] = r.flowLabel;
  }
  if (groups & G_MPLS) for (let i = 0; i < r.mplsDepth; i++) ring[w++ & m] = r.mpls[i]!;
  if (groups & G_REV) {
    ring[w++ & m] = r.revPackets;
    ring[w++ & m] = Math.floor(r.revPackets / TWO32);
    ring[w++ & m] = r.revOctets;
    ring[w++ & m] = Math.floor(r.revOctets / TWO32);
    ring[w++ & m] = r.revTcpFlags | (r.revTos << 8);
  }
  if (groups & G_ROUTE) {
    for (let i = 0; i < 4; i++) ring[w++ & m] = nh[i]!;
    ring[w++ & m] = r.inputIf;
    ring[w++ & m] = r.outputIf;
    ring[w++ & m] = r.srcAs;
    ring[w++ & m] = r.dstAs;
    ring[w++ & m] = r.srcMask | (r.dstMask << 8);
  }
  if (groups & G_EXPORTER) {
    ring[w++ & m] = r.exporterVersion;
    for (let i = 0; i < 4; i++) ring[w++ & m] = r.exporter[i]!;
  }
  ring[start & m] = (OP_RECORD << 24) | (w - start);
  return w >>> 0;
}

/** Reads the record message whose payload starts at p into `r` (every field set). */
export function readRecord(ring: Uint32Array, p: number, r: FlowRecord): void {
  const m = RING_MASK;
  let w = ring[p++ & m]!;
  r.ipVersion = w & 0xff;
  r.protocol = (w >>> 8) & 0xff;
  r.tcpFlags = (w >>> 16) & 0xff;
  r.tos = w >>> 24;
  w = ring[p++ & m]!;
  r.srcPort = w >>> 16;
  r.dstPort = w & 0xffff;
  w = ring[p++ & m]!;
  r.direction = w & 0xff;
  r.endReason = (w >>> 8) & 0xff;
  const depth = (w >>> 16) & 0xff;
  const groups = w >>> 24;
  r.packets = ring[p++ & m]! + ring[p++ & m]! * TWO32;
  r.octets = ring[p++ & m]! + ring[p++ & m]! * TWO32;
  r.startSec = ring[p++ & m]!;
  r.startNsec = ring[p++ & m]!;
  r.endSec = ring[p++ & m]!;
  r.endNsec = ring[p++ & m]!;
  const src = r.src;
  const dst = r.dst;
  src[0] = ring[p++ & m]!;
  dst[0] = ring[p++ & m]!;
  if (groups & G_V6) {
    for (let i = 1; i < 4; i++) src[i] = ring[p++ & m]!;
    for (let i = 1; i < 4; i++) dst[i] = ring[p++ & m]!;
  } else {
    src[1] = src[2] = src[3] = dst[1] = dst[2] = dst[3] = 0;
  }
  if (groups & G_L2) {
    r.vlan = ring[p++ & m]!;
    r.postVlan = ring[p++ & m]!;
    r.srcMacHi = ring[p++ & m]!;
    r.srcMacLo = ring[p++ & m]!;
    r.dstMacHi = ring[p++ & m]!;
    r.dstMacLo = ring[p++ & m]!;
    r.flowLabel = ring[p++ & m]!;
  } else {
    r.vlan = r.postVlan = r.srcMacHi = r.srcMacLo = r.dstMacHi = r.dstMacLo = r.flowLabel = 0;
  }
  r.mplsDepth = depth;
  if (groups & G_MPLS) for (let i = 0; i < depth; i++) r.mpls[i] = ring[p++ & m]!;
  for (let i = groups & G_MPLS ? depth : 0; i < r.mpls.length; i++) r.mpls[i] = 0;
  if (groups & G_REV) {
    r.revPackets = ring[p++ & m]! + ring[p++ & m]! * TWO32;
    r.revOctets = ring[p++ & m]! + ring[p++ & m]! * TWO32;
    w = ring[p++ & m]!;
    r.revTcpFlags = w & 0xff;
    r.revTos = (w >>> 8) & 0xff;
  } else {
    r.revPackets = r.revOctets = r.revTcpFlags = r.revTos = 0;
  }
  const nh = r.nextHop;
  if (groups & G_ROUTE) {
    for (let i = 0; i < 4; i++) nh[i] = ring[p++ & m]!;
    r.inputIf = ring[p++ & m]!;
    r.outputIf = ring[p++ & m]!;
    r.srcAs = ring[p++ & m]!;
    r.dstAs = ring[p++ & m]!;
    w = ring[p++ & m]!;
    r.srcMask = w & 0xff;
    r.dstMask = (w >>> 8) & 0xff;
  } else {
    nh[0] = nh[1] = nh[2] = nh[3] = 0;
    r.inputIf = r.outputIf = r.srcAs = r.dstAs = r.srcMask = r.dstMask = 0;
  }
  if (groups & G_EXPORTER) {
    r.exporterVersion = ring[p++ & m]!;
    for (let i = 0; i < 4; i++) r.exporter[i] = ring[p++ & m]!;
  } else {
    r.exporterVersion = 0;
    // Stores, not fill(): that is a call into the runtime, and this runs for every record.
    const e = r.exporter;
    e[0] = e[1] = e[2] = e[3] = 0;
  }
}
