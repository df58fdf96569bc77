/**
 * The link-layer decoders, keyed by LINKTYPE_ number (https://www.tcpdump.org/linktypes.html), and by the DLT_
 * number where libpcap reports another for a capture of that link type (pcap_datalink: raw IP 101 as 12, ATM
 * 100 as 11; test/decode/links.test.ts reads a capture of each). Adding a link type is a new file and one entry
 * here.
 */
import { decodeAtmRfc1483, DLT_ATM_RFC1483, LINKTYPE_ATM_RFC1483 } from './atm.js';
import { decodeChdlc, LINKTYPE_C_HDLC } from './chdlc.js';
import { decodeEthernet, LINKTYPE_ETHERNET } from './ethernet.js';
import {
  decodeAvsOrPrism,
  decodeIeee80211,
  decodeRadiotap,
  LINKTYPE_IEEE802_11,
  LINKTYPE_IEEE802_11_AVS,
  LINKTYPE_IEEE802_11_PRISM,
  LINKTYPE_IEEE802_11_RADIOTAP,
} from './ieee80211.js';
import { decodeNflog, LINKTYPE_NFLOG } from './nflog.js';
import { decodeLoop, decodeNull, LINKTYPE_LOOP, LINKTYPE_NULL } from './null.js';
import { decodePflog, LINKTYPE_PFLOG } from './pflog.js';
import {
  decodePpp,
  decodePppEther,
  decodePppHdlc,
  LINKTYPE_PPP,
  LINKTYPE_PPP_ETHER,
  LINKTYPE_PPP_HDLC,
} from './ppp.js';
import {
  decodeRaw,
  decodeRawIpv4,
  decodeRawIpv6,
  DLT_RAW_BSD,
  DLT_RAW_OPENBSD,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_RAW,
} from './raw.js';
import { u16le, u32le } from './bytes.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { decodeSll, LINKTYPE_LINUX_SLL } from './sll.js';
import { fail, setLinkHeader } from './status.js';
import { decodeSll2, LINKTYPE_LINUX_SLL2 } from './sll2.js';

/**
 * Decodes one packet of a link type: `off` is where it starts in `b`, `end` where its captured bytes end. Sets the
 * link fields, linkOctets and status, and hands the network layer to the IP decoders.
 */
export type LinkDecoder = (b: Uint8Array, off: number, end: number, v: PacketView) => DecodeStatus;

export interface LinkLayer {
  name: string;
  decode: LinkDecoder;
}

/**
 * LINKTYPE_PKTAP (258): Apple's packet tap (macOS `tcpdump -i any`, `-k`), a header naming the interface and
 * process, then the packet as the interface's own link type (DLT_ values of Darwin, which are LINKTYPE_ values
 * for those we decode: 0, 1, 9, 12, 105, 127). The header's fields are little-endian: its length, the record
 * type (1: a packet follows) and the DLT; it is at least 108 bytes (tcpdump's print-pktap.c).
 */
export const LINKTYPE_PKTAP = 258;
const PKTAP_MIN_HEADER = 108;
const PKTAP_RECORD_PACKET = 1;

function decodePktap(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, PKTAP_MIN_HEADER);
  if (end - off < PKTAP_MIN_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const len = u32le(b, off);
  if (len < PKTAP_MIN_HEADER || end - off < len) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return decodeWrapped(b, off, len, end, u32le(b, off + 4) === PKTAP_RECORD_PACKET ? u32le(b, off + 8) : NO_PACKET, v);
}

/**
 * LINKTYPE_PPI (192): the Per-Packet Information header (version, flags, its length and the DLT of what follows,
 * little-endian), then the packet as that link type, in practice 802.11 or Ethernet.
 */
export const LINKTYPE_PPI = 192;
const PPI_HEADER = 8;

function decodePpi(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  if (end - off < PPI_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const len = u16le(b, off + 2);
  if (len < PPI_HEADER || end - off < len) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return decodeWrapped(b, off, len, end, u32le(b, off + 4), v);
}

/** What decodeWrapped is given for a PKTAP record that carries no packet. */
const NO_PACKET = -1;

/**
 * The packet after a `len`-byte header that names its link type `dlt` (PKTAP, PPI), by that link type's decoder.
 * The inner decoder counts from where its own header starts: the outer header is link header too. A link type we
 * do not decode, or another wrapper inside, is non-IP.
 */
function decodeWrapped(b: Uint8Array, off: number, len: number, end: number, dlt: number, v: PacketView): DecodeStatus {
  const inner = dlt === LINKTYPE_PKTAP || dlt === LINKTYPE_PPI ? undefined : LINK_LAYERS.get(dlt);
  if (inner === undefined) {
    setLinkHeader(v, len);
    return fail(v, DecodeStatus.NON_IP, DecodeReason.LINK_TYPE, dlt === NO_PACKET ? 0 : dlt);
  }
  const status = inner.decode(b, off + len, end, v);
  v.linkOctets = v.linkOctets > len ? v.linkOctets - len : 0;
  if (status === DecodeStatus.OK) v.l3Offset += len;
  return status;
}

export const LINK_LAYERS: ReadonlyMap<number, LinkLayer> = new Map<number, LinkLayer>([
  [LINKTYPE_NULL, { name: 'NULL', decode: decodeNull }],
  [LINKTYPE_ETHERNET, { name: 'EN10MB', decode: decodeEthernet }],
  [LINKTYPE_PPP, { name: 'PPP', decode: decodePpp }],
  [DLT_RAW_BSD, { name: 'RAW', decode: decodeRaw }],
  [DLT_RAW_OPENBSD, { name: 'RAW', decode: decodeRaw }],
  [LINKTYPE_PPP_HDLC, { name: 'PPP_HDLC', decode: decodePppHdlc }],
  [LINKTYPE_PPP_ETHER, { name: 'PPP_ETHER', decode: decodePppEther }],
  [LINKTYPE_ATM_RFC1483, { name: 'ATM_RFC1483', decode: decodeAtmRfc1483 }],
  [DLT_ATM_RFC1483, { name: 'ATM_RFC1483', decode: decodeAtmRfc1483 }],
  [LINKTYPE_RAW, { name: 'RAW', decode: decodeRaw }],
  [LINKTYPE_C_HDLC, { name: 'C_HDLC', decode: decodeChdlc }],
  [LINKTYPE_LOOP, { name: 'LOOP', decode: decodeLoop }],
  [LINKTYPE_LINUX_SLL, { name: 'LINUX_SLL', decode: decodeSll }],
  [LINKTYPE_PFLOG, { name: 'PFLOG', decode: decodePflog }],
  [LINKTYPE_IPV4, { name: 'IPV4', decode: decodeRawIpv4 }],
  [LINKTYPE_IPV6, { name: 'IPV6', decode: decodeRawIpv6 }],
  [LINKTYPE_NFLOG, { name: 'NFLOG', decode: decodeNflog }],
  [LINKTYPE_LINUX_SLL2, { name: 'LINUX_SLL2', decode: decodeSll2 }],
  [LINKTYPE_IEEE802_11, { name: 'IEEE802_11', decode: decodeIeee80211 }],
  [LINKTYPE_IEEE802_11_PRISM, { name: 'IEEE802_11_PRISM', decode: decodeAvsOrPrism }],
  [LINKTYPE_IEEE802_11_RADIOTAP, { name: 'IEEE802_11_RADIOTAP', decode: decodeRadiotap }],
  [LINKTYPE_IEEE802_11_AVS, { name: 'IEEE802_11_AVS', decode: decodeAvsOrPrism }],
  [LINKTYPE_PPI, { name: 'PPI', decode: decodePpi }],
  [LINKTYPE_PKTAP, { name: 'PKTAP', decode: decodePktap }],
]);

/** Why a capture of `linkType` makes no flows, for a source that refuses it up front (as softflowd does). */
export function unsupportedLinkType(linkType: number): string {
  return `link type ${linkType} is not one flowprobe decodes (see Link layers in flowprobe(8))`;
}

/** Whether decodePacket knows `linkType`: a capture source can refuse an unknown one up front, as softflowd does. */
export function isLinkTypeSupported(linkType: number): boolean {
  return LINK_LAYERS.has(linkType);
}
