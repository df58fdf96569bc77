/**
 * `flowprobe -r FILE --print-packets`: one line per packet, for people checking what the probe sees and for tests.
 * Not on the hot path (strings are built per packet).
 *
 *   2009-11-02T10:10:10.123456789Z tcp 192.0.2.1:1234 -> 192.0.2.2:80 flags ...A..S. len 60 vlan 10
 *   2009-11-02T10:10:10.223456789Z ipv6-icmp [2001:db8::1] -> [ff02::1] type 135.0 len 72
 *   2009-11-02T10:10:10.323456789Z non-IP: ethertype 0x0806 (ARP)
 */
import { formatAddr, withPort } from './address.js';
import { DecodeReason, DecodeStatus, Fragment, type PacketView } from './packet.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP } from './transport.js';
import { ipProtocolName } from './protocols.js';

/** Ethertypes worth naming in non-IP lines. */
const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0806, 'ARP'],
  [0x8035, 'RARP'],
  [0x809b, 'AppleTalk'],
  [0x8137, 'IPX'],
  [0x8863, 'PPPoE discovery'],
  [0x888e, 'EAPOL'],
  [0x88cc, 'LLDP'],
  [0x8809, 'slow protocols (LACP)'],
  [0x88f7, 'PTP'],
  [0x9000, 'Ethernet loopback'],
]);

/** PPP protocols worth naming (RFC 1661 and the NCP RFCs). */
const PPP_NAMES: ReadonlyMap<number, string> = new Map([
  [0xc021, 'LCP'],
  [0xc023, 'PAP'],
  [0xc223, 'CHAP'],
  [0x8021, 'IPCP'],
  [0x8057, 'IPV6CP'],
  [0x8281, 'MPLSCP'],
  [0x80fd, 'CCP'],
]);

/** TCP flag letters, most significant bit first (CWR ECE URG ACK PSH RST SYN FIN), as nfdump prints them. */
const TCP_FLAG_LETTERS = 'CEUAPRSF';

/** The protocol as packet lines and the statistics name it (/etc/protocols keywords, IANA's otherwise). */
export const protocolName = ipProtocolName;

/** Eight characters, one per flag bit, '.' where unset: 0x12 (SYN+ACK) is "...A..S.". */
export function formatTcpFlags(flags: number): string {
  let s = '';
  for (let bit = 7; bit >= 0; bit--) s += (flags >> bit) & 1 ? TCP_FLAG_LETTERS[7 - bit] : '.';
  return s;
}

/** UTC, ISO 8601, with all nine digits of the nanoseconds: 2009-11-02T10:10:10.123456789Z. */
export function formatTime(sec: number, nsec: number): string {
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`;
}

export function formatPacketLine(v: PacketView): string {
  const time = formatTime(v.tsSec, v.tsNsec);
  if (v.status !== DecodeStatus.OK) return `${time} ${formatProblem(v)}${formatLinkTags(v)}`;

  const v6 = v.ipVersion === 6;
  const src = formatAddr(v.src, v.ipVersion);
  const dst = formatAddr(v.dst, v.ipVersion);
  const proto = v.protocol;
  let hasPorts = v.srcPort !== 0 || v.dstPort !== 0;
  let detail = '';
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    hasPorts = false;
    if (v.fragment !== Fragment.LATER && !v.truncated) detail = ` type ${v.icmpType}.${v.icmpCode}`;
  } else if (proto === IPPROTO_TCP && v.fragment !== Fragment.LATER && !v.truncated) {
    detail = ` flags ${formatTcpFlags(v.tcpFlags)}`;
  }
  const from = hasPorts ? withPort(src, v.srcPort, v.ipVersion) : v6 ? `[${src}]` : src;
  const to = hasPorts ? withPort(dst, v.dstPort, v.ipVersion) : v6 ? `[${dst}]` : dst;

  let line = `${time} ${protocolName(proto)} ${from} -> ${to}${detail} len ${v.ipLen}`;
  if (v.tos !== 0) line += ` tos 0x${v.tos.toString(16).padStart(2, '0')}`;
  if (v.flowLabel !== 0) line += ` label 0x${v.flowLabel.toString(16).padStart(5, '0')}`;
  if (v.fragment === Fragment.FIRST) line += ' frag first';
  else if (v.fragment === Fragment.LATER) line += ' frag later';
  line += formatLinkTags(v);
  if (v.truncated) line += ' [truncated]';
  return line;
}

/** VLAN ids and MPLS labels (label values only, outermost first). */
function formatLinkTags(v: PacketView): string {
  let s = '';
  if (v.vlan !== 0 || v.vlanInner !== 0) s += v.vlanInner !== 0 ? ` vlan ${v.vlan}/${v.vlanInner}` : ` vlan ${v.vlan}`;
  if (v.mplsDepth > 0) {
    const labels: number[] = [];
    for (let i = 0; i < v.mplsDepth; i++) labels.push(v.mpls[i] >>> 12);
    s += ` mpls ${labels.join('/')}`;
  }
  return s;
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

/** Why a packet made no flow update. */
function formatProblem(v: PacketView): string {
  const p = v.linkProto;
  switch (v.reason) {
    case DecodeReason.ETHERTYPE: {
      const name = ETHERTYPE_NAMES.get(p);
      return `non-IP: ethertype ${hex4(p)}${name ? ` (${name})` : ''}`;
    }
    case DecodeReason.LLC:
      return `non-IP: 802.2 LLC frame, DSAP 0x${p.toString(16).padStart(2, '0')}`;
    case DecodeReason.PPP_PROTOCOL: {
      const name = PPP_NAMES.get(p);
      return `non-IP: PPP protocol ${hex4(p)}${name ? ` (${name})` : ''}`;
    }
    case DecodeReason.ADDRESS_FAMILY:
      return `non-IP: address family ${p}`;
    case DecodeReason.MPLS_PAYLOAD:
      return `non-IP: MPLS payload starting with nibble ${p}`;
    case DecodeReason.TOO_MANY_HEADERS:
      return `non-IP: too many VLAN tags, MPLS labels or link headers`;
    case DecodeReason.LINK_TRUNCATED:
      return `too short: link header cut (caplen ${v.caplen})`;
    case DecodeReason.IP_VERSION:
      return `too short: bad IP version ${p} (caplen ${v.caplen})`;
    case DecodeReason.IPV4_TRUNCATED:
      return `too short: IPv4 header cut (caplen ${v.caplen})`;
    case DecodeReason.IPV4_BAD_IHL:
      return `too short: IPv4 header length ${p * 4} bytes`;
    case DecodeReason.IPV6_TRUNCATED:
      return `too short: IPv6 header cut (caplen ${v.caplen})`;
    case DecodeReason.LINK_TYPE:
      return `unknown link type ${p}`;
    case DecodeReason.WLAN_FRAME:
      return `non-IP: 802.11 ${describeWlanFrame(p)}, frame control ${hex4(p)}`;
    default:
      return `not decoded (status ${v.status})`;
  }
}

/** What an 802.11 frame control field (first byte high) says, in the terms of IEEE 802.11-2020 §9.2.4.1. */
function describeWlanFrame(fc: number): string {
  const type = (fc >> 10) & 0x3;
  const subtype = (fc >> 12) & 0xf;
  if ((fc & 0x300) !== 0) return `frame of protocol version ${(fc >> 8) & 0x3}`;
  if (type === 0) return 'management frame';
  if (type === 1) return 'control frame';
  if (type === 3) return 'extension frame';
  if ((subtype & 0x4) !== 0) return 'data frame without a body';
  if ((fc & 0x40) !== 0) return 'protected (encrypted) data frame';
  return 'A-MSDU data frame';
}
