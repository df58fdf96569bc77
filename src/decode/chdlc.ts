/** LINKTYPE_C_HDLC (104): Cisco HDLC, address, control, then an ethertype (RFC 1547 §4.3.1). */
import { u16 } from './bytes.js';
import { decodeEncapsulated } from './encap.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_C_HDLC = 104;
const CHDLC_HEADER = 4;

export function decodeChdlc(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  if (end - off < CHDLC_HEADER) {
    setLinkHeader(v, CHDLC_HEADER);
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  return decodeEncapsulated(b, off, off + CHDLC_HEADER, end, u16(b, off + 2), v);
}
