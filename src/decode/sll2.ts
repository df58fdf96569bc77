/**
 * LINKTYPE_LINUX_SLL2 (276): Linux "cooked" capture v2, 20-byte header with the protocol first
 * (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html). softflowd refuses this link type.
 */
import { u16 } from './bytes.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { decodeSllProtocol } from './sll.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_LINUX_SLL2 = 276;
const SLL2_HEADER = 20;
const SLL2_PROTOCOL = 0;
const SLL2_ARPHRD = 8;
const SLL2_ADDR_LEN = 11;
const SLL2_ADDR = 12;

export function decodeSll2(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, SLL2_HEADER);
  if (end - off < SLL2_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return decodeSllProtocol(
    b,
    off,
    off + SLL2_HEADER,
    end,
    u16(b, off + SLL2_PROTOCOL),
    u16(b, off + SLL2_ARPHRD),
    b[off + SLL2_ADDR_LEN],
    off + SLL2_ADDR,
    v,
  );
}
