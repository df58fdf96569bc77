/**
 * Transport headers: the fields a flow key and a flow record need (ports, TCP flags, ICMP type/code).
 *
 * Each field is decoded when its own bytes were captured, so a snaplen that cuts a TCP header after 4 bytes still
 * gives the ports. softflowd (1.1.0) takes nothing from a TCP header shorter than 20 captured bytes or a UDP
 * header shorter than 8; we take what the capture holds and set `truncated` when a field we report was cut.
 */
import { u16 } from './bytes.js';
import type { PacketView } from './packet.js';

/** IANA protocol numbers (https://www.iana.org/assignments/protocol-numbers). */
export const IPPROTO_ICMP = 1; // RFC 792
export const IPPROTO_IGMP = 2; // RFC 3376
export const IPPROTO_IPIP = 4; // RFC 2003
export const IPPROTO_TCP = 6; // RFC 9293
export const IPPROTO_UDP = 17; // RFC 768
export const IPPROTO_DCCP = 33; // RFC 4340
export const IPPROTO_IPV6 = 41; // RFC 2473
export const IPPROTO_GRE = 47; // RFC 2784
export const IPPROTO_ESP = 50; // RFC 4303
export const IPPROTO_AH = 51; // RFC 4302
export const IPPROTO_ICMPV6 = 58; // RFC 4443
export const IPPROTO_SCTP = 132; // RFC 9260
export const IPPROTO_UDPLITE = 136; // RFC 3828

/** Bytes from the start of the header that hold the source and destination ports (TCP, UDP, SCTP, DCCP, UDP-Lite). */
const PORTS_LEN = 4;
/** RFC 9293 §3.1: the control bits are byte 13 of the TCP header (CWR..FIN; the reserved bits sit in byte 12). */
const TCP_FLAGS_OFFSET = 13;
/** RFC 792 / RFC 4443 §2.1: type and code are the first two bytes. */
const ICMP_TYPE_CODE_LEN = 2;

/**
 * Decodes the transport header at `p` for `proto`, reading no byte at or beyond `end` (which may be before `p`
 * when an IPv6 extension header claimed more than was captured). Ports, flags and ICMP fields must already be 0.
 */
export function decodeTransport(b: Uint8Array, p: number, end: number, proto: number, v: PacketView): void {
  const avail = end - p;
  switch (proto) {
    case IPPROTO_TCP:
      if (avail >= PORTS_LEN) {
        v.srcPort = u16(b, p);
        v.dstPort = u16(b, p + 2);
      }
      if (avail > TCP_FLAGS_OFFSET) v.tcpFlags = b[p + TCP_FLAGS_OFFSET];
      else v.truncated = true;
      return;
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
    case IPPROTO_UDPLITE:
    case IPPROTO_DCCP:
      if (avail >= PORTS_LEN) {
        v.srcPort = u16(b, p);
        v.dstPort = u16(b, p + 2);
      } else {
        v.truncated = true;
      }
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      // ICMP and ICMPv6 alike, whatever the IP version (as softflowd): NetFlow carries type*256+code as the
      // destination port, and srcPort stays 0.
      if (avail >= ICMP_TYPE_CODE_LEN) {
        v.icmpType = b[p];
        v.icmpCode = b[p + 1];
        v.dstPort = u16(b, p);
      } else {
        v.truncated = true;
      }
      return;
    default:
      // Tunnels (GRE, IP-in-IP, IPv6-in-IPv4), ESP, AH over IPv4, OSPF, ...: the flow is the outer header's,
      // keyed by protocol alone.
      return;
  }
}
