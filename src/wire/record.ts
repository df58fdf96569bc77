/**
 * One unidirectional flow record: what the flow stage hands to an exporter, what a receiver decodes from the
 * wire, and what the store writes. One class, reused: the producer overwrites it for each record and the
 * consumer must copy what it keeps (no object per flow on the export path).
 */
export class FlowRecord {
  /** 4 or 6. */
  ipVersion = 4;
  /** Addresses as big-endian 32-bit words (IPv4 in word 0, words 1..3 zero). */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  /** IPv4 next hop (word 0) or IPv6 next hop; zero when unknown. */
  readonly nextHop = new Uint32Array(4);
  srcPort = 0;
  /** For ICMP/ICMPv6: type*256+code, the NetFlow way. */
  dstPort = 0;
  protocol = 0;
  tcpFlags = 0;
  tos = 0;
  packets = 0;
  octets = 0;
  /** First and last packet times, seconds since the epoch plus nanoseconds. */
  startSec = 0;
  startNsec = 0;
  endSec = 0;
  endNsec = 0;
  /** IPFIX flowEndReason (RFC 7012 IE 136): 1 idle, 2 active, 3 end of flow, 4 forced end, 5 lack of resources. */
  endReason = 0;
  /** IPFIX flowDirection (IE 61) as softflowd uses it: 0 for the lower-address half, 1 for the other. */
  direction = 0;
  inputIf = 0;
  outputIf = 0;
  vlan = 0;
  postVlan = 0;
  srcMacHi = 0;
  srcMacLo = 0;
  dstMacHi = 0;
  dstMacLo = 0;
  flowLabel = 0;
  srcAs = 0;
  dstAs = 0;
  srcMask = 0;
  dstMask = 0;
  /** MPLS label stack entries, top first (raw shims: label<<12 | TC<<9 | S<<8 | TTL). */
  mplsDepth = 0;
  readonly mpls = new Uint32Array(10);
  /**
   * RFC 5103 reverse direction of a biflow record (IPFIX with -b only; zero otherwise): counters, flags and ToS of
   * the packets sent from dst to src, carried in reverse IEs (PEN 29305).
   */
  revPackets = 0;
  revOctets = 0;
  revTcpFlags = 0;
  revTos = 0;
  /**
   * The exporter that sent the record (IPFIX exporterIPv4Address/exporterIPv6Address, RFC 7012 IEs 130/131):
   * set by a collector from the datagram's source, kept by the store. Same word layout as `src`.
   */
  readonly exporter = new Uint32Array(4);
  /** 4 or 6; 0 when the record has no exporter (made locally, or stored without one). */
  exporterVersion = 0;

  clear(): void {
    this.ipVersion = 4;
    this.src.fill(0);
    this.dst.fill(0);
    this.nextHop.fill(0);
    this.srcPort = this.dstPort = this.protocol = this.tcpFlags = this.tos = 0;
    this.packets = this.octets = 0;
    this.startSec = this.startNsec = this.endSec = this.endNsec = 0;
    this.endReason = this.direction = this.inputIf = this.outputIf = 0;
    this.vlan = this.postVlan = 0;
    this.srcMacHi = this.srcMacLo = this.dstMacHi = this.dstMacLo = 0;
    this.flowLabel = this.srcAs = this.dstAs = this.srcMask = this.dstMask = 0;
    this.mplsDepth = 0;
    this.mpls.fill(0);
    this.revPackets = this.revOctets = this.revTcpFlags = this.revTos = 0;
    this.exporter.fill(0);
    this.exporterVersion = 0;
  }

  copyFrom(o: FlowRecord): void {
    this.ipVersion = o.ipVersion;
    this.src.set(o.src);
    this.dst.set(o.dst);
    this.nextHop.set(o.nextHop);
    this.srcPort = o.srcPort;
    this.dstPort = o.dstPort;
    this.protocol = o.protocol;
    this.tcpFlags = o.tcpFlags;
    this.tos = o.tos;
    this.packets = o.packets;
    this.octets = o.octets;
    this.startSec = o.startSec;
    this.startNsec = o.startNsec;
    this.endSec = o.endSec;
    this.endNsec = o.endNsec;
    this.endReason = o.endReason;
    this.direction = o.direction;
    this.inputIf = o.inputIf;
    this.outputIf = o.outputIf;
    this.vlan = o.vlan;
    this.postVlan = o.postVlan;
    this.srcMacHi = o.srcMacHi;
    this.srcMacLo = o.srcMacLo;
    this.dstMacHi = o.dstMacHi;
    this.dstMacLo = o.dstMacLo;
    this.flowLabel = o.flowLabel;
    this.srcAs = o.srcAs;
    this.dstAs = o.dstAs;
    this.srcMask = o.srcMask;
    this.dstMask = o.dstMask;
    this.mplsDepth = o.mplsDepth;
    this.mpls.set(o.mpls);
    this.revPackets = o.revPackets;
    this.revOctets = o.revOctets;
    this.revTcpFlags = o.revTcpFlags;
    this.revTos = o.revTos;
    this.exporter.set(o.exporter);
    this.exporterVersion = o.exporterVersion;
  }
}

/** Receives records one at a time; the record is only valid during the call. */
export interface FlowSink {
  onFlow(rec: FlowRecord): void;
}
