/**
 * LINKTYPE_LINUX_SLL (113): Linux "cooked" capture v1, 16-byte header
 * (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
 */
import { u16, u32 } from './bytes.js';
import { decodeEncapsulated } from './encap.js';
import { ETHER_MAX_LENGTH_FIELD } from './ethertypes.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_LINUX_SLL = 113;
const SLL_HEADER = 16;
const SLL_ARPHRD = 2;
const SLL_ADDR_LEN = 4;
const SLL_ADDR = 6;
const SLL_PROTOCOL = 14;

export function decodeSll(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, SLL_HEADER);
  if (end - off < SLL_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return decodeSllProtocol(
    b,
    off,
    off + SLL_HEADER,
    end,
    u16(b, off + SLL_PROTOCOL),
    u16(b, off + SLL_ARPHRD),
    u16(b, off + SLL_ADDR_LEN),
    off + SLL_ADDR,
    v,
  );
}

/** ARPHRD_ETHER (Linux if_arp.h): the link-layer address field then holds the 6-byte source MAC. */
const ARPHRD_ETHER = 1;
const MAC_LEN = 6;
/**
 * Protocol values up to 1500 are not ethertypes in SLL but Linux ETH_P_ values (LINUX_SLL page): 0x0004 means an
 * 802.2 LLC frame follows (possibly SNAP-encapsulated IP); the others (Novell 802.3, CAN, ...) are non-IP.
 */
const LINUX_SLL_P_802_2 = 0x0004;

/** Shared by SLL and SLL2 once their header is read: records the sender's MAC and walks to IP. */
export function decodeSllProtocol(
  b: Uint8Array,
  off: number,
  p: number,
  end: number,
  protocol: number,
  arphrd: number,
  addrLen: number,
  addr: number,
  v: PacketView,
): DecodeStatus {
  // SLL records one address, the sender's; there is no destination MAC.
  if (arphrd === ARPHRD_ETHER && addrLen === MAC_LEN) {
    v.srcMacHi = u16(b, addr);
    v.srcMacLo = u32(b, addr + 2);
  }
  if (protocol <= ETHER_MAX_LENGTH_FIELD && protocol !== LINUX_SLL_P_802_2) {
    return fail(v, DecodeStatus.NON_IP, DecodeReason.ETHERTYPE, protocol);
  }
  // For 0x0004 the walk sees a "length" (<= 1500) and reads the LLC header at p.
  return decodeEncapsulated(b, off, p, end, protocol, v);
}
