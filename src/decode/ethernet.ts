/** LINKTYPE_ETHERNET (1): IEEE 802.3 / Ethernet II frames, FCS not included. */
import { u16, u32 } from './bytes.js';
import { decodeEncapsulated, ETHER_HEADER } from './encap.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_ETHERNET = 1;

export function decodeEthernet(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  if (end - off < ETHER_HEADER) {
    setLinkHeader(v, ETHER_HEADER);
    return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  }
  v.dstMacHi = u16(b, off);
  v.dstMacLo = u32(b, off + 2);
  v.srcMacHi = u16(b, off + 6);
  v.srcMacLo = u32(b, off + 8);
  return decodeEncapsulated(b, off, off + ETHER_HEADER, end, u16(b, off + 12), v);
}
