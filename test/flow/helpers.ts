/** Hand-built PacketViews and a sink that keeps copies of what the table exports. */
import { DecodeStatus, Fragment, PacketView } from '../../src/decode/packet.js';
import { FlowRecord, type FlowSink } from '../../src/wire/record.js';

/** Deterministic PRNG (mulberry32) so that a failing random test reproduces. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A time well inside the epoch range real captures have. */
export const T0 = 1_700_000_000;

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const ICMPV6 = 58;
export const GRE = 47;
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** "10.0.0.1" or an IPv6 address (with ::) as four big-endian words. */
export function addr(text: string): Uint32Array {
  const w = new Uint32Array(4);
  if (!text.includes(':')) {
    const [a, b, c, d] = text.split('.').map(Number);
    w[0] = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    return w;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

export function text(w: Uint32Array, ipVersion = 4): string {
  if (ipVersion === 4) return [w[0] >>> 24, (w[0] >>> 16) & 255, (w[0] >>> 8) & 255, w[0] & 255].join('.');
  const g: string[] = [];
  for (let i = 0; i < 4; i++) g.push((w[i] >>> 16).toString(16), (w[i] & 0xffff).toString(16));
  return g.join(':');
}

export interface PacketSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  proto?: number;
  flags?: number;
  /** Seconds since the epoch; fractions become nanoseconds. */
  t?: number;
  len?: number;
  linkOctets?: number;
  tos?: number;
  flowLabel?: number;
  fragment?: Fragment;
  status?: DecodeStatus;
  vlan?: number;
  vlanInner?: number;
  srcMac?: [number, number];
  dstMac?: [number, number];
  mpls?: number[];
  icmpType?: number;
  icmpCode?: number;
}

const view = new PacketView();

/** Fills one reused PacketView the way a decoder would (the table must not keep references to it). */
export function pkt(s: PacketSpec): PacketView {
  const v = view;
  const src = addr(s.src ?? '10.0.0.1');
  const dst = addr(s.dst ?? '10.0.0.2');
  const t = s.t ?? T0;
  v.tsSec = Math.floor(t);
  v.tsNsec = Math.round((t - Math.floor(t)) * 1e9);
  v.status = s.status ?? DecodeStatus.OK;
  v.ipVersion = v.status !== DecodeStatus.OK ? 0 : (s.src ?? '').includes(':') ? 6 : 4;
  v.src.set(src);
  v.dst.set(dst);
  v.protocol = s.proto ?? UDP;
  if (s.icmpType !== undefined) {
    v.srcPort = 0;
    v.dstPort = s.icmpType * 256 + (s.icmpCode ?? 0);
  } else {
    v.srcPort = s.sport ?? 1000;
    v.dstPort = s.dport ?? 2000;
  }
  v.tcpFlags = s.flags ?? 0;
  v.tos = s.tos ?? 0;
  v.flowLabel = s.flowLabel ?? 0;
  v.ipLen = s.len ?? 100;
  v.linkOctets = s.linkOctets ?? v.ipLen + 14;
  v.fragment = s.fragment ?? Fragment.NONE;
  v.vlan = s.vlan ?? 0;
  v.vlanInner = s.vlanInner ?? 0;
  [v.srcMacHi, v.srcMacLo] = s.srcMac ?? [0, 0];
  [v.dstMacHi, v.dstMacLo] = s.dstMac ?? [0, 0];
  const mpls = s.mpls ?? [];
  v.mplsDepth = mpls.length;
  v.mpls.fill(0);
  v.mpls.set(mpls.slice(0, 10));
  return v;
}

/** Keeps a copy of every record, as an exporter would. */
export class Collect implements FlowSink {
  readonly records: FlowRecord[] = [];
  onFlow(rec: FlowRecord): void {
    const copy = new FlowRecord();
    copy.copyFrom(rec);
    this.records.push(copy);
  }
  clear(): void {
    this.records.length = 0;
  }
  /** "src:sport>dst:dport/proto" of each record, for compact assertions. */
  keys(): string[] {
    return this.records.map(
      (r) => `${text(r.src, r.ipVersion)}:${r.srcPort}>${text(r.dst, r.ipVersion)}:${r.dstPort}/${r.protocol}`,
    );
  }
}
