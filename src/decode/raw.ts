/**
 * Raw IP: no link header. LINKTYPE_RAW (101) and the platform DLT values 12 and 14 that mean raw IP in files
 * written on BSDs (tcpdump.org linktypes page: "DLT_RAW is 12 on most platforms, 14 on OpenBSD"); the version
 * nibble picks IPv4 or IPv6. LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229) promise one version.
 */
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_RAW = 101;
export const DLT_RAW_BSD = 12;
export const DLT_RAW_OPENBSD = 14;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;

export function decodeRaw(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  return decodeIpAt(b, off, off, end, v);
}

export function decodeRawIpv4(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  return decodeIpv4(b, off, off, end, v);
}

export function decodeRawIpv6(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  return decodeIpv6(b, off, off, end, v);
}

/**
 * IP of either version at absolute offset `p`, by its version nibble; the link promised IP, so any other version
 * is TOO_SHORT.
 */
export function decodeIpAt(b: Uint8Array, off: number, p: number, end: number, v: PacketView): DecodeStatus {
  if (p >= end) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const version = b[p] >> 4;
  if (version === 4) return decodeIpv4(b, off, p, end, v);
  if (version === 6) return decodeIpv6(b, off, p, end, v);
  return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION, version);
}
