/** Sample flow records covering every template slot, and helpers to compare what came back. */
import { FlowRecord } from '../../src/wire/record.js';
import { templateIndex } from '../../src/wire/template.js';

/** Captured in the afternoon of 2026-11-24; the probe "booted" at the first packet. */
export const BOOT_MS = Date.UTC(2026, 10, 24, 19, 42, 47, 790);

export function ipv4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Full (uncompressed) IPv6 text → 4 big-endian words. */
export function ipv6(s: string): number[] {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return [0, 1, 2, 3].map((i) => ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0);
}

export interface Sample {
  v: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  sp: number;
  dp: number;
  flags?: number;
  tos?: number;
  pkts: number;
  bytes: number;
  /** ms after BOOT_MS, and extra nanoseconds within the ms. */
  startMs: number;
  endMs: number;
  extraNs?: number;
}

export const SAMPLES: Sample[] = [
  { v: 4, src: '10.0.0.1', dst: '192.0.2.80', proto: 6, sp: 40000, dp: 80, flags: 0x1b, tos: 0x10, pkts: 5, bytes: 218, startMs: 0, endMs: 22, extraNs: 123456 },
  { v: 4, src: '192.0.2.80', dst: '10.0.0.1', proto: 6, sp: 80, dp: 40000, flags: 0x1b, pkts: 3, bytes: 1120, startMs: 1, endMs: 21, extraNs: 999999 },
  { v: 4, src: '10.0.0.1', dst: '198.51.100.53', proto: 17, sp: 53000, dp: 53, tos: 0xb8, pkts: 3, bytes: 204, startMs: 1000, endMs: 3000 },
  { v: 4, src: '10.0.0.1', dst: '203.0.113.7', proto: 1, sp: 0, dp: 8 * 256, pkts: 4, bytes: 336, startMs: 5000, endMs: 8000, extraNs: 1 },
  { v: 4, src: '203.0.113.7', dst: '10.0.0.1', proto: 1, sp: 0, dp: 3 * 256 + 3, pkts: 1, bytes: 84, startMs: 5001, endMs: 5001 },
  { v: 4, src: '10.0.0.2', dst: '10.0.0.3', proto: 47, sp: 0, dp: 0, pkts: 10, bytes: 4_000_000_000, startMs: 123_456, endMs: 3_600_000 },
  { v: 6, src: '2001:db8::1', dst: '2001:db8:0:1::80', proto: 6, sp: 51000, dp: 443, flags: 0x12, tos: 0x28, pkts: 7, bytes: 900, startMs: 250, endMs: 777, extraNs: 500000 },
  { v: 6, src: 'fe80::1', dst: 'ff02::1', proto: 58, sp: 0, dp: 128 * 256, pkts: 2, bytes: 208, startMs: 9000, endMs: 9999 },
  { v: 6, src: '2001:db8::53', dst: '2001:db8::1', proto: 17, sp: 53, dp: 33333, pkts: 1, bytes: 120, startMs: 86_400_000, endMs: 86_400_001 },
];

export function fillRecord(r: FlowRecord, s: Sample, i: number): FlowRecord {
  r.clear();
  r.ipVersion = s.v;
  if (s.v === 4) {
    r.src[0] = ipv4(s.src);
    r.dst[0] = ipv4(s.dst);
  } else {
    r.src.set(ipv6(s.src));
    r.dst.set(ipv6(s.dst));
  }
  r.protocol = s.proto;
  r.srcPort = s.sp;
  r.dstPort = s.dp;
  r.tcpFlags = s.flags ?? 0;
  r.tos = s.tos ?? 0;
  r.packets = s.pkts;
  r.octets = s.bytes;
  const st = BOOT_MS + s.startMs;
  const en = BOOT_MS + s.endMs;
  r.startSec = Math.floor(st / 1000);
  r.startNsec = (st % 1000) * 1e6 + (s.extraNs ?? 0);
  r.endSec = Math.floor(en / 1000);
  r.endNsec = (en % 1000) * 1e6 + (s.extraNs ?? 0);
  r.endReason = 1 + (i % 5);
  r.direction = i % 2;
  r.inputIf = 3 + i;
  r.outputIf = 7 + i;
  r.vlan = 100 + i;
  r.postVlan = 200 + i;
  r.srcMacHi = 0x0200 + i;
  r.srcMacLo = 0x5e0000aa + i;
  r.dstMacHi = 0x0a00 + i;
  r.dstMacLo = 0x270000bb + i;
  // Two MPLS shims: label 1000+i (TC 5), then label 2000 with bottom of stack; TTLs 64.
  r.mplsDepth = 2;
  r.mpls[0] = (((1000 + i) << 12) | (5 << 9) | 64) >>> 0;
  r.mpls[1] = ((2000 << 12) | (1 << 8) | 64) >>> 0;
  r.revPackets = 2 * s.pkts + 1;
  r.revOctets = 3 * s.bytes + 7;
  r.revTcpFlags = s.flags ? 0x12 : 0;
  r.revTos = 0x20;
  return r;
}

export function sampleRecords(): FlowRecord[] {
  return SAMPLES.map((s, i) => fillRecord(new FlowRecord(), s, i));
}

/** A plain copy of every field, for deep equality checks. */
export function plain(r: FlowRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) o[k] = v instanceof Uint32Array ? Array.from(v) : v;
  return o;
}

export function textAddr(r: FlowRecord, which: 'src' | 'dst'): string {
  const w = r[which];
  if (r.ipVersion === 4) return [w[0] >>> 24, (w[0] >>> 16) & 255, (w[0] >>> 8) & 255, w[0] & 255].join('.');
  const g: string[] = [];
  for (let i = 0; i < 4; i++) g.push((w[i] >>> 16).toString(16), (w[i] & 0xffff).toString(16));
  return g.join(':');
}

/**
 * One message's records in the order the v9/IPFIX encoders put them on the wire: one data set per flow template,
 * the sets in template order, each set's records in the order added (MessageEncoder).
 */
export function wireOrder(recs: readonly FlowRecord[]): FlowRecord[] {
  return [...recs].sort((a, b) => templateIndex(a) - templateIndex(b));
}
