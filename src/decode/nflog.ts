/**
 * LINKTYPE_NFLOG (239): Linux netfilter log (`tcpdump -i nflog`, iptables NFLOG). A 4-byte header (address family,
 * version, resource id), then TLVs; the one of type NFULA_PAYLOAD holds the packet from its IP header
 * (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html). TLV length and type are in host byte order; libpcap
 * turns them into the reading host's order, which is little-endian wherever the capture addon is built.
 */
import { u16le } from './bytes.js';
import { decodeFamily } from './null.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_NFLOG = 239;
const NFLOG_HEADER = 4;
/** TLV header: 2-byte length (including itself), 2-byte type; TLVs are padded to 4 bytes. */
const TLV_HEADER = 4;
/** linux/netfilter/nfnetlink_log.h: attribute type of the logged packet. */
const NFULA_PAYLOAD = 9;

export function decodeNflog(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  if (end - off < NFLOG_HEADER) {
    setLinkHeader(v, NFLOG_HEADER);
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  const af = b[off];
  // Each TLV moves p forward by at least 4 bytes, so the walk ends within caplen/4 steps.
  let p = off + NFLOG_HEADER;
  while (end - p >= TLV_HEADER) {
    const len = u16le(b, p);
    const type = u16le(b, p + 2);
    if (len < TLV_HEADER) break;
    if (type === NFULA_PAYLOAD) {
      const ip = p + TLV_HEADER;
      setLinkHeader(v, ip - off);
      const payloadEnd = p + len < end ? p + len : end;
      return decodeFamily(b, off, ip, payloadEnd, af, v);
    }
    p += (len + 3) & ~3;
  }
  setLinkHeader(v, p - off);
  return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
}
