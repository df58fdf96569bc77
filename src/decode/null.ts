/**
 * LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): BSD loopback, a 4-byte address family then the packet. NULL's
 * family is in the capturing host's byte order, which the file does not record, so both orders are accepted (a
 * family fits in one byte, so the nonzero end tells the order). LOOP's is always big-endian.
 *
 * The IPv6 family differs by OS, and a file may come from any of them, so every known value is IPv6 (softflowd
 * knows only its own host's AF_INET6 and drops the others' IPv6 as non-IP).
 */
import { u32, u32le } from './bytes.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_NULL = 0;
export const LINKTYPE_LOOP = 108;
const NULL_HEADER = 4;

/** AF_INET is 2 everywhere; AF_INET6 is 10 on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD/DragonFly, 30 on macOS. */
export const AF_INET = 2;
export const AF_INET6_LINUX = 10;
export const AF_INET6_BSD = 24;
export const AF_INET6_FREEBSD = 28;
export const AF_INET6_DARWIN = 30;

export function decodeNull(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, NULL_HEADER);
  if (end - off < NULL_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  // Little-endian host: [af, 0, 0, 0]; big-endian host: [0, 0, 0, af].
  const le = u32le(b, off);
  const af = le > 0xffff ? u32(b, off) : le;
  return decodeFamily(b, off, off + NULL_HEADER, end, af, v);
}

export function decodeLoop(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, NULL_HEADER);
  if (end - off < NULL_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const af = u32(b, off);
  return decodeFamily(b, off, off + NULL_HEADER, end, af, v);
}

/** Decodes the IP packet at `p` that address family `af` announces (also used by PFLOG and NFLOG). */
export function decodeFamily(
  b: Uint8Array,
  off: number,
  p: number,
  end: number,
  af: number,
  v: PacketView,
): DecodeStatus {
  switch (af) {
    case AF_INET:
      return decodeIpv4(b, off, p, end, v);
    case AF_INET6_LINUX:
    case AF_INET6_BSD:
    case AF_INET6_FREEBSD:
    case AF_INET6_DARWIN:
      return decodeIpv6(b, off, p, end, v);
    default:
      return fail(v, DecodeStatus.NON_IP, DecodeReason.ADDRESS_FAMILY, af);
  }
}
