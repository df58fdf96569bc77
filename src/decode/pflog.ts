/**
 * LINKTYPE_PFLOG (117): OpenBSD/FreeBSD pf's log header, then the packet. Byte 0 is the header length before
 * padding, byte 1 the address family (BSD values, see null.ts). The header has grown over pf versions, so its
 * own length byte, rounded up to 4 as the kernel pads it, says where the packet starts (softflowd assumes a fixed
 * 48 bytes).
 */
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { decodeFamily } from './null.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_PFLOG = 117;
/** Shorter length bytes are not a pfloghdr (tcpdump's MIN_PFLOG_HDRLEN: through the rule numbers). */
const PFLOG_MIN_HEADER = 45;

export function decodePflog(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  if (end - off < 2) {
    setLinkHeader(v, PFLOG_MIN_HEADER);
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  const hdr = (b[off] + 3) & ~3;
  setLinkHeader(v, hdr);
  if (b[off] < PFLOG_MIN_HEADER || end - off < hdr) {
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  return decodeFamily(b, off, off + hdr, end, b[off + 1], v);
}
