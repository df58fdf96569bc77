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

/**
 * The detail behind a status, for `--print-packets` and for counters: which header stopped the decoder, and what
 * `linkProto` means. NONE for a fully decoded packet.
 */
export const enum DecodeReason {
  NONE = 0,
  /** TOO_SHORT: the link-layer header (or a VLAN tag, PPPoE header, MPLS entry, ...) was cut by the snaplen. */
  LINK_TRUNCATED = 1,
  /** NON_IP: linkProto is the ethertype (Ethernet, SLL, SLL2, Cisco HDLC, inside VLAN tags or a pseudowire). */
  ETHERTYPE = 2,
  /** NON_IP: an 802.3 frame with an 802.2 LLC header that is not SNAP-encapsulated IP; linkProto is the DSAP. */
  LLC = 3,
  /** NON_IP: linkProto is the PPP protocol number (PPP, PPPoE session). */
  PPP_PROTOCOL = 4,
  /** NON_IP: linkProto is the address family of a NULL/LOOP/PFLOG header. */
  ADDRESS_FAMILY = 5,
  /** NON_IP: the payload after an MPLS label stack is not IP; linkProto is its first nibble. */
  MPLS_PAYLOAD = 6,
  /** NON_IP: more VLAN tags or MPLS labels than we walk (MAX_VLAN_TAGS, MAX_MPLS_WALK). */
  TOO_MANY_HEADERS = 7,
  /** TOO_SHORT: where IP was expected, the version nibble was neither 4 nor 6 (or not the one the link promised). */
  IP_VERSION = 8,
  /** TOO_SHORT: the IPv4 header (20 bytes, or IHL*4 with options) was not captured whole. */
  IPV4_TRUNCATED = 9,
  /** TOO_SHORT: IHL below 5. */
  IPV4_BAD_IHL = 10,
  /** TOO_SHORT: the 40-byte IPv6 header was not captured whole. */
  IPV6_TRUNCATED = 11,
  /**
   * UNKNOWN_LINK: linkProto is the link type. NON_IP: linkProto is the link type inside a PPI or PKTAP header (for
   * PKTAP, also a record that is not a packet).
   */
  LINK_TYPE = 12,
  /**
   * NON_IP: an 802.11 frame without an IP body (management, control, null data, protected, an A-MSDU); linkProto
   * is its frame control field as sent (first byte high).
   */
  WLAN_FRAME = 13,
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
  /** Why status is not OK (and how to read linkProto); NONE when OK. */
  reason: DecodeReason = DecodeReason.NONE;
  /** The value behind a NON_IP/UNKNOWN_LINK/IP_VERSION reason: ethertype, PPP protocol, address family, DSAP, ... */
  linkProto = 0;
  /** The link type the packet was decoded as (the capture's LINKTYPE_ value). */
  linkType = 0;
  /**
   * Status OK, but the snaplen cut a header we read fields from (IPv6 extension header, TCP before its flags,
   * UDP/SCTP before the ports, ICMP before type/code): those fields are 0.
   */
  truncated = false;

  /** 4 or 6 when status is OK, else 0. */
  ipVersion = 0;
  /**
   * Addresses as big-endian 32-bit words, so that comparing words 0..3 as unsigned numbers orders them the way
   * memcmp orders the bytes. IPv4 uses word 0 only; words 1..3 are 0.
   */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /**
   * IP protocol number of the outer header: tunnels (GRE, IP-in-IP, 6in4) are not opened. IPv6: the protocol after
   * the extension headers, AH included; for a later fragment the fragment header's next header (softflowd: 0).
   */
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
  /**
   * softflowd's byte count: wire length minus the link header, where the link header includes VLAN tags, PPPoE,
   * PPP and LLC/SNAP headers but not MPLS shims (nor what follows them). Ethernet padding is counted.
   */
  linkOctets = 0;
  /** Offset of the (outer) IP header from the packet's first captured byte (decodePacket's `off`). */
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
  /**
   * MPLS label stack entries (raw 32-bit shims, outermost first), at most MAX_MPLS_LABELS kept: mplsDepth is the
   * number kept, and entries from mplsDepth on are 0. Deeper entries are walked over but not kept.
   */
  mplsDepth = 0;
  readonly mpls = new Uint32Array(MAX_MPLS_LABELS);
}
