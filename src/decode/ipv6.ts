/**
 * IPv6 (RFC 8200): the fixed header, then the extension-header chain up to the upper-layer protocol.
 *
 * Where we differ from softflowd on purpose: a non-first fragment keeps the real next-header value as its
 * protocol (softflowd reports 0), the traffic class is read correctly (softflowd's is always 0 on little-endian
 * hosts), and AH is walked over like the other extension headers (softflowd stops at it).
 */
import { u16, u32 } from './bytes.js';
import { DecodeReason, DecodeStatus, Fragment, type PacketView } from './packet.js';
import { fail } from './status.js';
import { decodeTransport } from './transport.js';

/** RFC 8200 §3: the fixed header. */
export const IPV6_HEADER = 40;

/** Extension headers (RFC 8200 §4, IANA "IPv6 Extension Header Types"). */
const EXT_HOP_BY_HOP = 0; // RFC 8200 §4.3
const EXT_ROUTING = 43; // RFC 8200 §4.4
const EXT_FRAGMENT = 44; // RFC 8200 §4.5
const EXT_AH = 51; // RFC 4302 §2.2: length in 4-octet units, minus 2
const EXT_DEST_OPTS = 60; // RFC 8200 §4.6
// Mobility (135, RFC 6275 §6.1.1), HIP (139, RFC 7401 §5.1) and Shim6 (140, RFC 5533 §5.1) are in the IANA
// extension-header registry, but their messages are followed by No Next Header (59): the header itself is what
// the packet carries, so they end the chain and are the flow's protocol (as tshark and softflowd show them).
/** RFC 8200 §4.5: fragment header is 8 bytes; offset is the top 13 bits of bytes 2-3, M is the low bit. */
const FRAGMENT_HEADER = 8;
/** Bytes an extension header must show before its next-header (byte 0) and length (byte 1) can be read. */
const EXT_PREFIX = 2;

/**
 * Decodes the IPv6 header at absolute offset `p` (packet starts at `off`, capture ends before `end`), walks the
 * extension headers and decodes the transport header.
 *
 * When the capture ends inside the chain, the packet is still OK (addresses are known) with `truncated` set and
 * `protocol` the next-header value we could not read past. ESP (50) and No Next Header (59) end the chain.
 */
export function decodeIpv6(b: Uint8Array, off: number, p: number, end: number, v: PacketView): DecodeStatus {
  if (end - p < IPV6_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IPV6_TRUNCATED);
  const b0 = b[p];
  if (b0 >> 4 !== 6) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION, b0 >> 4);

  const b1 = b[p + 1];
  const payloadLen = u16(b, p + 4);
  v.ipVersion = 6;
  v.l3Offset = p - off;
  v.tos = ((b0 & 0x0f) << 4) | (b1 >> 4);
  v.flowLabel = ((b1 & 0x0f) << 16) | u16(b, p + 2);
  v.ipLen = payloadLen + IPV6_HEADER;
  v.ttl = b[p + 7];
  for (let i = 0; i < 4; i++) {
    const s = p + 8 + 4 * i;
    const d = p + 24 + 4 * i;
    v.src[i] = u32(b, s);
    v.dst[i] = u32(b, d);
  }
  v.status = DecodeStatus.OK;

  // As for IPv4, the payload length bounds the headers (no padding read as ports); 0 means a jumbogram
  // (RFC 2675) or a segmentation-offload capture, where only the capture bounds them.
  let l4End = end;
  if (payloadLen !== 0 && p + IPV6_HEADER + payloadLen < end) l4End = p + IPV6_HEADER + payloadLen;

  // No count limit: RFC 8200 §4.1 has receivers accept any number of extension headers, and libpcap's own test
  // capture chains 100. The walk is bounded by bytes instead: every header moves q forward by at least 8, and
  // the walk stops once q leaves the captured payload, so a packet costs at most caplen/8 steps.
  let nh = b[p + 6];
  let q = p + IPV6_HEADER;
  for (;;) {
    let len: number;
    switch (nh) {
      case EXT_HOP_BY_HOP:
      case EXT_ROUTING:
      case EXT_DEST_OPTS:
        // RFC 8200 §4.3-4.6: Hdr Ext Len counts 8-octet units beyond the first 8.
        if (l4End - q < EXT_PREFIX) return truncatedAt(v, nh);
        len = (b[q + 1] + 1) << 3;
        break;
      case EXT_AH:
        if (l4End - q < EXT_PREFIX) return truncatedAt(v, nh);
        len = (b[q + 1] + 2) << 2;
        break;
      case EXT_FRAGMENT: {
        if (l4End - q < FRAGMENT_HEADER) return truncatedAt(v, nh);
        const field = u16(b, q + 2);
        if (field >> 3 !== 0) {
          // Later fragment: its transport header is in the first fragment. Keep the real protocol.
          v.fragment = Fragment.LATER;
          v.protocol = b[q];
          return DecodeStatus.OK;
        }
        if ((field & 1) !== 0) v.fragment = Fragment.FIRST;
        len = FRAGMENT_HEADER;
        break;
      }
      default:
        // Upper layer, ESP, No Next Header, Mobility, or a header we do not know: the chain ends here. If the
        // previous extension header ran past the capture, q > l4End and decodeTransport reads nothing.
        v.protocol = nh;
        decodeTransport(b, q, l4End, nh, v);
        return DecodeStatus.OK;
    }
    nh = b[q];
    q += len;
  }
}

function truncatedAt(v: PacketView, nh: number): DecodeStatus {
  v.protocol = nh;
  v.truncated = true;
  return DecodeStatus.OK;
}
