/**
 * PPP links: LINKTYPE_PPP (9), LINKTYPE_PPP_HDLC (50, which may also hold Cisco HDLC frames) and
 * LINKTYPE_PPP_ETHER (51, PPPoE without its Ethernet header). MPLS over PPP (0x0281) is decoded, which softflowd
 * cannot do.
 */
import { u16 } from './bytes.js';
import { decodeChdlc } from './chdlc.js';
import { decodeEncapsulated } from './encap.js';
import { ETHERTYPE_PPPOE_SESSION } from './ethertypes.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { pppToEthertype } from './pppproto.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_PPP = 9;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_PPP_ETHER = 51;

/** RFC 1662 §3.1: the All-Stations address and the Unnumbered Information control field. */
const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;
/** RFC 1547 §4.3.1 / Cisco HDLC: unicast and broadcast address bytes. */
const CHDLC_UNICAST = 0x0f;
const CHDLC_BROADCAST = 0x8f;

export function decodePpp(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  let p = off;
  // Address and control are optional: RFC 1661 §6.6 lets peers drop them, and BSD's DLT_PPP leaves them out.
  if (end - p >= 2 && b[p] === PPP_ADDRESS && b[p + 1] === PPP_CONTROL) p += 2;
  if (p >= end) {
    setLinkHeader(v, p - off + 2);
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  let proto: number;
  if ((b[p] & 1) !== 0) {
    // RFC 1661 §6.5: with Protocol-Field-Compression a protocol below 0x100 is sent as one (odd) octet.
    proto = b[p];
    p += 1;
  } else {
    if (end - p < 2) {
      setLinkHeader(v, p - off + 2);
      return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
    }
    proto = u16(b, p);
    p += 2;
  }
  const type = pppToEthertype(proto);
  if (type === 0) {
    setLinkHeader(v, p - off);
    return fail(v, DecodeStatus.NON_IP, DecodeReason.PPP_PROTOCOL, proto);
  }
  return decodeEncapsulated(b, off, p, end, type, v);
}

export function decodePppHdlc(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  if (end > off && (b[off] === CHDLC_UNICAST || b[off] === CHDLC_BROADCAST)) return decodeChdlc(b, off, end, v);
  return decodePpp(b, off, end, v);
}

export function decodePppEther(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  return decodeEncapsulated(b, off, off, end, ETHERTYPE_PPPOE_SESSION, v);
}
