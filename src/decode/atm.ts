/**
 * LINKTYPE_ATM_RFC1483 (100): ATM with RFC 2684 (formerly RFC 1483) LLC encapsulation; the frame starts with an
 * 802.2 LLC header, so the LLC/SNAP branch of the walk finds IP.
 */
import { decodeEncapsulated } from './encap.js';
import type { DecodeStatus, PacketView } from './packet.js';

export const LINKTYPE_ATM_RFC1483 = 100;
/** What libpcap reports for such a capture (pcap_datalink: DLT_ATM_RFC1483 is 11 on the platforms we build for). */
export const DLT_ATM_RFC1483 = 11;

/** Any value up to 1500 makes the walk read an LLC header at the start of the frame. */
const LLC_FOLLOWS = 0;

export function decodeAtmRfc1483(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  return decodeEncapsulated(b, off, off, end, LLC_FOLLOWS, v);
}
