/**
 * IPv4 (RFC 791 §3.1). Only the outer header of a tunnel is decoded: GRE, IP-in-IP and 6in4 packets are flows of
 * protocol 47/4/41 between the tunnel endpoints, as a router would export them.
 */
import { u16, u32 } from './bytes.js';
import { DecodeReason, DecodeStatus, Fragment, type PacketView } from './packet.js';
import { fail } from './status.js';
import { decodeTransport } from './transport.js';

/** RFC 791 §3.1: a header without options is 5 32-bit words. */
export const IPV4_MIN_HEADER = 20;
/** RFC 791 §3.1 flags field: More Fragments, and the 13-bit fragment offset that follows the flags. */
const IPV4_MF = 0x2000;
const IPV4_OFFSET_MASK = 0x1fff;

/**
 * Decodes the IPv4 header at absolute offset `p` (the packet starts at `off`, the capture ends before `end`) and
 * the transport header after it. Fields are written only once the header has been validated, so a TOO_SHORT
 * packet leaves the view as decodePacket reset it.
 */
export function decodeIpv4(b: Uint8Array, off: number, p: number, end: number, v: PacketView): DecodeStatus {
  if (end - p < IPV4_MIN_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IPV4_TRUNCATED);
  const vhl = b[p];
  if (vhl >> 4 !== 4) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION, vhl >> 4);
  const hl = (vhl & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IPV4_BAD_IHL, vhl & 0x0f);
  // Options cut by the snaplen: the transport header cannot be found, so the packet is not decoded.
  if (end - p < hl) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IPV4_TRUNCATED);

  const totalLen = u16(b, p + 2);
  const fragField = u16(b, p + 6);
  const proto = b[p + 9];
  v.ipVersion = 4;
  v.l3Offset = p - off;
  v.tos = b[p + 1];
  v.ipLen = totalLen;
  v.ttl = b[p + 8];
  v.protocol = proto;
  v.src[0] = u32(b, p + 12);
  v.dst[0] = u32(b, p + 16);
  v.status = DecodeStatus.OK;

  if ((fragField & IPV4_OFFSET_MASK) !== 0) {
    // A later fragment carries no transport header: ports stay 0 and it makes a flow of its own (no reassembly).
    v.fragment = Fragment.LATER;
    return DecodeStatus.OK;
  }
  if ((fragField & IPV4_MF) !== 0) v.fragment = Fragment.FIRST;

  // The transport header ends where the datagram does, so Ethernet padding is never read as ports. A total
  // length below the header length is impossible on the wire but is what TCP segmentation offload leaves in
  // locally captured packets (often 0): then the capture's end is the only bound.
  let l4End = end;
  if (totalLen >= hl && p + totalLen < end) l4End = p + totalLen;
  decodeTransport(b, p + hl, l4End, proto, v);
  return DecodeStatus.OK;
}
