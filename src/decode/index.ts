/**
 * The decoder's entry point: one captured packet in, the reused PacketView filled in. Never throws and allocates
 * nothing: every read is bounds-checked against the captured length, and every outcome is a status.
 */
import { decodeCommonEthernet } from './common.js';
import { LINKTYPE_ETHERNET } from './ethernet.js';
import { LINK_LAYERS, type LinkDecoder } from './links.js';
import { DecodeReason, DecodeStatus, Fragment, type PacketView } from './packet.js';
import { fail } from './status.js';

export { isLinkTypeSupported, LINK_LAYERS, unsupportedLinkType } from './links.js';
export { DecodeReason, DecodeStatus, Fragment, MAX_MPLS_LABELS, PacketView } from './packet.js';

const ETHERNET = LINKTYPE_ETHERNET;

// A one-entry cache: a capture has one link type (pcapng interfaces aside), so the Map lookup is skipped.
let cachedType = -1;
let cachedDecoder: LinkDecoder | undefined;

/**
 * Decodes the packet of `caplen` captured bytes at `buf[off]` whose length on the wire was `wirelen`, captured on
 * link type `linkType` (LINKTYPE_ number). Sets v.status (also returned) and every field but the timestamps.
 */
export function decodePacket(
  buf: Uint8Array,
  off: number,
  caplen: number,
  wirelen: number,
  linkType: number,
  v: PacketView,
): DecodeStatus {
  if (linkType === ETHERNET && off >= 0) {
    const end = off + caplen > buf.length ? buf.length : off + caplen;
    if (decodeCommonEthernet(buf, off, end, wirelen, v)) {
      v.caplen = caplen;
      v.wirelen = wirelen;
      v.linkType = linkType;
      return DecodeStatus.OK;
    }
  }
  return decodeLayers(buf, off, caplen, wirelen, linkType, v);
}

/**
 * decodePacket without the straight run for common Ethernet frames (common.ts): every packet through the link
 * type's decoder. Exported for the test that both give the same view.
 */
export function decodeLayers(
  buf: Uint8Array,
  off: number,
  caplen: number,
  wirelen: number,
  linkType: number,
  v: PacketView,
): DecodeStatus {
  v.caplen = caplen;
  v.wirelen = wirelen;
  v.linkType = linkType;
  v.status = DecodeStatus.OK;
  v.reason = DecodeReason.NONE;
  v.linkProto = 0;
  v.truncated = false;
  v.ipVersion = 0;
  const src = v.src;
  const dst = v.dst;
  src[0] = 0;
  src[1] = 0;
  src[2] = 0;
  src[3] = 0;
  dst[0] = 0;
  dst[1] = 0;
  dst[2] = 0;
  dst[3] = 0;
  v.protocol = 0;
  v.srcPort = 0;
  v.dstPort = 0;
  v.tcpFlags = 0;
  v.tos = 0;
  v.ttl = 0;
  v.flowLabel = 0;
  v.ipLen = 0;
  v.linkOctets = 0;
  v.l3Offset = 0;
  v.fragment = Fragment.NONE;
  v.icmpType = 0;
  v.icmpCode = 0;
  v.vlan = 0;
  v.vlanInner = 0;
  v.srcMacHi = 0;
  v.srcMacLo = 0;
  v.dstMacHi = 0;
  v.dstMacLo = 0;
  // Entries beyond mplsDepth are kept 0, so only the ones the last packet used need clearing.
  const mpls = v.mpls;
  for (let i = 0; i < v.mplsDepth; i++) mpls[i] = 0;
  v.mplsDepth = 0;

  if (linkType !== cachedType) {
    cachedType = linkType;
    cachedDecoder = LINK_LAYERS.get(linkType)?.decode;
  }
  if (cachedDecoder === undefined) return fail(v, DecodeStatus.UNKNOWN_LINK, DecodeReason.LINK_TYPE, linkType);

  // Never read past the buffer, whatever caplen claims.
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  if (!(off >= 0) || end < off) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return cachedDecoder(buf, off, end, v);
}
