/**
 * The link-layer decoders, keyed by LINKTYPE_ number (https://www.tcpdump.org/linktypes.html). Adding a link type
 * is a new file and one entry here.
 */
import { decodeAtmRfc1483, LINKTYPE_ATM_RFC1483 } from './atm.js';
import { decodeChdlc, LINKTYPE_C_HDLC } from './chdlc.js';
import { decodeEthernet, LINKTYPE_ETHERNET } from './ethernet.js';
import {
  decodeAvsOrPrism,
  decodeIeee80211,
  decodePpi,
  decodeRadiotap,
  LINKTYPE_IEEE802_11,
  LINKTYPE_IEEE802_11_AVS,
  LINKTYPE_IEEE802_11_PRISM,
  LINKTYPE_IEEE802_11_RADIOTAP,
  LINKTYPE_PPI,
} from './ieee80211.js';
import { decodeNflog, LINKTYPE_NFLOG } from './nflog.js';
import { decodeLoop, decodeNull, LINKTYPE_LOOP, LINKTYPE_NULL } from './null.js';
import type { DecodeStatus, PacketView } from './packet.js';
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
import { decodeSll, LINKTYPE_LINUX_SLL } from './sll.js';
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

export const LINK_LAYERS: ReadonlyMap<number, LinkLayer> = new Map<number, LinkLayer>([
  [LINKTYPE_NULL, { name: 'NULL', decode: decodeNull }],
  [LINKTYPE_ETHERNET, { name: 'EN10MB', decode: decodeEthernet }],
  [LINKTYPE_PPP, { name: 'PPP', decode: decodePpp }],
  [DLT_RAW_BSD, { name: 'RAW', decode: decodeRaw }],
  [DLT_RAW_OPENBSD, { name: 'RAW', decode: decodeRaw }],
  [LINKTYPE_PPP_HDLC, { name: 'PPP_HDLC', decode: decodePppHdlc }],
  [LINKTYPE_PPP_ETHER, { name: 'PPP_ETHER', decode: decodePppEther }],
  [LINKTYPE_ATM_RFC1483, { name: 'ATM_RFC1483', decode: decodeAtmRfc1483 }],
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
]);

/** Whether decodePacket knows `linkType`: a capture source can refuse an unknown one up front, as softflowd does. */
export function isLinkTypeSupported(linkType: number): boolean {
  return LINK_LAYERS.has(linkType);
}
