/**
 * The decoded packet: one instance, reused for every packet (the hot path allocates nothing per packet).
 * The decoder overwrites every field on each call; the flow stage reads it and must copy what it keeps.
 */

/** Why a packet could not be turned into a flow update. OK means the IP layer (at least) was decoded. */
export const enum DecodeStatus {
  OK = 0,
  /** The link layer carried something other than IPv4/IPv6 (ARP, STP, PPPoE discovery, LLC, ...). */
  NON_IP = 1,
  /** The IP header did not fit in the captured bytes, or its version/length fields were impossible. */
  TOO_SHORT = 2,
  /** The capture's link type is one we have no decoder for. */
  UNKNOWN_LINK = 3,
}

/** Fragment state of the packet's IP datagram (RFC 791 §3.1, RFC 8200 §4.5). */
export const enum Fragment {
  NONE = 0,
  /** Offset 0 with more-fragments set: transport header present. */
  FIRST = 1,
  /** Offset > 0: no transport header; ports stay 0. */
  LATER = 2,
}

export const MAX_MPLS_LABELS = 10;

export class PacketView {
  /** Capture timestamp, seconds since the epoch and nanoseconds within the second. */
  tsSec = 0;
  tsNsec = 0;
  /** Bytes captured, and the packet's length on the wire. */
  caplen = 0;
  wirelen = 0;

  status: DecodeStatus = DecodeStatus.OK;

  /** 4 or 6 when status is OK, else 0. */
  ipVersion = 0;
  /**
   * Addresses as big-endian 32-bit words, so that comparing words 0..3 as unsigned numbers orders them the way
   * memcmp orders the bytes. IPv4 uses word 0 only; words 1..3 are 0.
   */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** IP protocol number (IPv6: the upper-layer protocol after the extension headers). */
  protocol = 0;
  /** Transport ports; for ICMP/ICMPv6 srcPort is 0 and dstPort is type*256+code, the NetFlow way. */
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN 0x01 ... CWR 0x80); 0 when not TCP or the header was not captured. */
  tcpFlags = 0;
  /** IPv4 TOS byte / IPv6 traffic class. */
  tos = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl = 0;
  /** IPv6 flow label (20 bits); 0 for IPv4. */
  flowLabel = 0;
  /** IP length from the header: IPv4 total length, IPv6 payload length + 40. */
  ipLen = 0;
  /** softflowd's byte count: wire length minus the link header (VLAN tags included, MPLS shims not). */
  linkOctets = 0;
  /** Offset of the (outer) IP header in the captured bytes. */
  l3Offset = 0;
  fragment: Fragment = Fragment.NONE;
  /** ICMP type and code (also in dstPort) when protocol is 1 or 58; else 0. */
  icmpType = 0;
  icmpCode = 0;

  /** Outermost 802.1Q/802.1ad VLAN id, or 0 when untagged; inner is the second tag (QinQ), else 0. */
  vlan = 0;
  vlanInner = 0;
  /** Ethernet MAC addresses split into high 16 and low 32 bits; 0 on links without MACs. */
  srcMacHi = 0;
  srcMacLo = 0;
  dstMacHi = 0;
  dstMacLo = 0;
  /** MPLS label stack entries (raw 32-bit shims, outermost first), at most MAX_MPLS_LABELS kept. */
  mplsDepth = 0;
  readonly mpls = new Uint32Array(MAX_MPLS_LABELS);
}
