/**
 * decodePacket on arbitrary bytes, for every link type we decode (and some we do not): it must never throw, must
 * set a status from the enum with a reason that belongs to it, keep every field inside its type's range, and read
 * nothing outside [off, off + caplen) — the same packet decoded from an exact-size buffer and from the middle of
 * a larger one, whose other bytes are sentinels, must give the same view.
 */
import fc from 'fast-check';
import { decodePacket, LINK_LAYERS } from '../../../src/decode/index.js';
import { DecodeReason, DecodeStatus, Fragment, MAX_MPLS_LABELS, PacketView } from '../../../src/decode/packet.js';
import type { Frame } from '../lib/corpus.js';
import { mutate, mutationsArb, rarely, type Mutation } from '../lib/mutate.js';

export const SUPPORTED_LINK_TYPES = [...LINK_LAYERS.keys()];

/** Which reasons each status may carry. */
const REASONS: Record<number, readonly number[]> = {
  [DecodeStatus.OK]: [DecodeReason.NONE],
  [DecodeStatus.NON_IP]: [
    DecodeReason.ETHERTYPE,
    DecodeReason.LLC,
    DecodeReason.PPP_PROTOCOL,
    DecodeReason.ADDRESS_FAMILY,
    DecodeReason.MPLS_PAYLOAD,
    DecodeReason.TOO_MANY_HEADERS,
    DecodeReason.WLAN_FRAME,
    // A link type inside a PPI header that we do not decode.
    DecodeReason.LINK_TYPE,
  ],
  [DecodeStatus.TOO_SHORT]: [
    DecodeReason.LINK_TRUNCATED,
    DecodeReason.IP_VERSION,
    DecodeReason.IPV4_TRUNCATED,
    DecodeReason.IPV4_BAD_IHL,
    DecodeReason.IPV6_TRUNCATED,
  ],
  [DecodeStatus.UNKNOWN_LINK]: [DecodeReason.LINK_TYPE],
};

/** Every field decodePacket writes, in a fixed order. */
export function snapshot(v: PacketView): number[] {
  return [
    v.status, v.reason, v.linkProto, v.linkType, +v.truncated, v.ipVersion, ...v.src, ...v.dst, v.protocol,
    v.srcPort, v.dstPort, v.tcpFlags, v.tos, v.ttl, v.flowLabel, v.ipLen, v.linkOctets, v.l3Offset, v.fragment,
    v.icmpType, v.icmpCode, v.vlan, v.vlanInner, v.srcMacHi, v.srcMacLo, v.dstMacHi, v.dstMacLo, v.mplsDepth,
    ...v.mpls, v.caplen, v.wirelen,
  ];
}

const u8 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xff;
const u16 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffff;
const u32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/** The first broken rule of a decoded view, or null. */
export function brokenRule(v: PacketView, caplen: number, wirelen: number, linkType: number): string | null {
  const reasons = REASONS[v.status];
  if (reasons === undefined) return `status ${v.status} is not a DecodeStatus`;
  if (!reasons.includes(v.reason)) return `reason ${v.reason} with status ${v.status}`;
  if (v.caplen !== caplen || v.wirelen !== wirelen || v.linkType !== linkType) return 'caplen/wirelen/linkType not echoed';
  if (v.status === DecodeStatus.UNKNOWN_LINK && LINK_LAYERS.has(linkType)) return 'UNKNOWN_LINK for a supported link type';
  if (v.status !== DecodeStatus.UNKNOWN_LINK && !LINK_LAYERS.has(linkType)) return `status ${v.status} for unknown link type ${linkType}`;
  if (!u32(v.linkProto)) return `linkProto ${v.linkProto}`;
  if (!(u32(v.linkOctets) && v.linkOctets <= wirelen)) return `linkOctets ${v.linkOctets} > wirelen ${wirelen}`;
  if (!(v.vlan >= 0 && v.vlan <= 4095 && v.vlanInner >= 0 && v.vlanInner <= 4095)) return `vlan ${v.vlan}/${v.vlanInner}`;
  if (!(u16(v.srcMacHi) && u16(v.dstMacHi) && u32(v.srcMacLo) && u32(v.dstMacLo))) return 'MAC out of range';
  if (!(v.mplsDepth >= 0 && v.mplsDepth <= MAX_MPLS_LABELS)) return `mplsDepth ${v.mplsDepth}`;
  for (let i = v.mplsDepth; i < MAX_MPLS_LABELS; i++) if (v.mpls[i] !== 0) return `mpls[${i}] set beyond depth ${v.mplsDepth}`;
  if (v.status !== DecodeStatus.OK) {
    if (v.ipVersion !== 0 || v.protocol !== 0 || v.srcPort !== 0 || v.dstPort !== 0 || v.tcpFlags !== 0) {
      return 'IP fields set on a failed decode';
    }
    for (let i = 0; i < 4; i++) if (v.src[i] !== 0 || v.dst[i] !== 0) return 'addresses set on a failed decode';
    return null;
  }
  if (v.ipVersion !== 4 && v.ipVersion !== 6) return `OK with ipVersion ${v.ipVersion}`;
  if (!(v.l3Offset >= 0 && v.l3Offset + (v.ipVersion === 4 ? 20 : 40) <= caplen)) {
    return `IP header at ${v.l3Offset} does not fit caplen ${caplen}`;
  }
  if (v.ipVersion === 4) {
    for (let i = 1; i < 4; i++) if (v.src[i] !== 0 || v.dst[i] !== 0) return 'IPv4 address with words 1..3 set';
    if (v.flowLabel !== 0) return 'IPv4 with a flow label';
    if (!(v.ipLen >= 0 && v.ipLen <= 0xffff)) return `IPv4 length ${v.ipLen}`;
  } else {
    if (!(v.flowLabel >= 0 && v.flowLabel < 1 << 20)) return `flow label ${v.flowLabel}`;
    if (!(v.ipLen >= 40 && v.ipLen <= 0xffff + 40)) return `IPv6 length ${v.ipLen}`;
  }
  if (!(u8(v.protocol) && u16(v.srcPort) && u16(v.dstPort) && u8(v.tcpFlags) && u8(v.tos) && u8(v.ttl))) {
    return 'protocol/port/flags/tos/ttl out of range';
  }
  if (v.fragment !== Fragment.NONE && v.fragment !== Fragment.FIRST && v.fragment !== Fragment.LATER) return `fragment ${v.fragment}`;
  if (v.fragment === Fragment.LATER && (v.srcPort !== 0 || v.dstPort !== 0 || v.tcpFlags !== 0)) return 'later fragment with ports';
  if (v.protocol !== 6 && v.tcpFlags !== 0) return `TCP flags on protocol ${v.protocol}`;
  // ICMP and ICMPv6 alike whatever the IP version, as softflowd (src/decode/transport.ts).
  if (v.protocol === 1 || v.protocol === 58) {
    if (v.srcPort !== 0 || v.dstPort !== v.icmpType * 256 + v.icmpCode) return 'ICMP type/code not in dstPort';
  } else if (v.icmpType !== 0 || v.icmpCode !== 0) return `ICMP type/code on protocol ${v.protocol}`;
  return null;
}

export interface DecodeCase {
  linkType: number;
  bytes: Uint8Array;
  caplen: number;
  wirelen: number;
  prefix: Uint8Array;
  sentinel: number;
}

/** Arbitrary packets: random bytes on any link type, and real frames mutated, mostly on their own link type. */
export function decodeCaseArb(frames: readonly Frame[]): fc.Arbitrary<DecodeCase> {
  const linkArb = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...SUPPORTED_LINK_TYPES) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) },
  );
  const random = fc.record({ linkType: linkArb, bytes: fc.uint8Array({ maxLength: 400 }) });
  const mutated = fc
    .record({
      frame: fc.integer({ min: 0, max: frames.length - 1 }),
      muts: fc.oneof(fc.constant([] as Mutation[]), mutationsArb(4)),
      otherLink: rarely(linkArb, 6),
    })
    .map(({ frame, muts, otherLink }) => ({
      linkType: otherLink ?? frames[frame]!.linkType,
      bytes: mutate(frames[frame]!.bytes, muts),
    }));
  return fc
    .tuple(
      fc.oneof({ weight: 1, arbitrary: random }, { weight: 3, arbitrary: mutated }),
      fc.nat(),
      fc.oneof(fc.constant(-1), fc.nat({ max: 1600 }), fc.nat({ max: 0xffffffff })),
      fc.uint8Array({ maxLength: 9 }),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([{ linkType, bytes }, capPick, extraWire, prefix, sentinel]) => {
      // Mostly the whole packet; otherwise cut it anywhere (a snaplen).
      const caplen = capPick % 3 === 0 ? capPick % (bytes.length + 1) : bytes.length;
      const wirelen = extraWire < 0 ? caplen : extraWire > 1600 ? extraWire : caplen + extraWire;
      return { linkType, bytes: bytes.slice(0, caplen), caplen, wirelen, prefix, sentinel };
    });
}

const views = [new PacketView(), new PacketView(), new PacketView()];

/** Decodes one case three ways; returns a description of what went wrong, or null. */
export function checkDecodeCase(c: DecodeCase, seen?: DecodeStats): string | null {
  const { linkType, bytes, caplen, wirelen } = c;
  const exact = Uint8Array.from(bytes);
  const [a, b, d] = views as [PacketView, PacketView, PacketView];
  decodePacket(exact, 0, caplen, wirelen, linkType, a);
  const broken = brokenRule(a, caplen, wirelen, linkType);
  if (broken) return broken;
  // The same bytes in the middle of larger buffers, surrounded by two different sentinel patterns.
  const tail = 64;
  const off = c.prefix.length;
  const padA = new Uint8Array(off + caplen + tail).fill(c.sentinel);
  padA.set(c.prefix, 0);
  padA.set(bytes, off);
  const padB = padA.map((x, i) => (i >= off && i < off + caplen ? x : x ^ 0xff));
  decodePacket(padA, off, caplen, wirelen, linkType, b);
  decodePacket(padB, off, caplen, wirelen, linkType, d);
  const sa = snapshot(a).join();
  if (snapshot(b).join() !== sa || snapshot(d).join() !== sa) {
    return `decode depends on bytes outside the packet:\n exact ${sa}\n padA  ${snapshot(b).join()}\n padB  ${snapshot(d).join()}`;
  }
  seen?.add(a);
  return null;
}

/** What the runs reached, so a test can tell that the fuzzer got past the link layers. */
export class DecodeStats {
  readonly statuses = new Set<number>();
  readonly okLinks = new Set<number>();
  readonly reasons = new Set<number>();
  cases = 0;
  add(v: PacketView): void {
    this.cases++;
    this.statuses.add(v.status);
    this.reasons.add(v.reason);
    if (v.status === DecodeStatus.OK) this.okLinks.add(v.linkType);
  }
}

export function decodeProperty(frames: readonly Frame[], stats?: DecodeStats): fc.IPropertyWithHooks<[DecodeCase]> {
  return fc.property(decodeCaseArb(frames), (c) => {
    const e = checkDecodeCase(c, stats);
    if (e !== null) throw new Error(e);
  });
}
