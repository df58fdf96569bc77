/**
 * IEEE 802.11 (Wi-Fi) frames, bare or behind the radio headers a monitor-mode capture puts in front of them:
 * LINKTYPE_IEEE802_11 (105), LINKTYPE_IEEE802_11_PRISM (119), LINKTYPE_IEEE802_11_RADIOTAP (127) and
 * LINKTYPE_IEEE802_11_AVS (163) (https://www.tcpdump.org/linktypes.html); LINKTYPE_PPI (192), which usually wraps
 * 802.11 too, is a wrapper of any link type (links.ts).
 *
 * Only data frames carry IP: an unprotected data frame with a body (IEEE 802.11-2020 §9.2.4.1.3: type 2, a subtype
 * without the "no data" bit) whose body is RFC 1042 LLC/SNAP, walked from there as an Ethernet payload would be.
 * Management and control frames, null data, frames of another protocol version and protected (encrypted) bodies
 * are non-IP, counted with the frame control word. An A-MSDU (§9.3.2.2.2) packs several subframes, each its own
 * packet, into one frame: a flow update takes one packet, so it is non-IP here rather than half counted.
 *
 * Addresses: the source and destination MACs are the frame's SA and DA, which the To DS and From DS bits place
 * (§9.3.2.1, Table 9-30). linkOctets (softflowd's count) is the wire length less the radio header, the 802.11
 * header and LLC/SNAP, and less the FCS when the radio header says the frame ends with one.
 */
import { u16, u16le as le16, u32, u32le as le32 } from './bytes.js';
import { decodeEncapsulated } from './encap.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { fail, setLinkHeader } from './status.js';

export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_IEEE802_11_PRISM = 119;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_IEEE802_11_AVS = 163;

/** §9.2.3: frame control, duration, three addresses, sequence control. */
const WLAN_HEADER = 24;
const WLAN_ADDR4 = 6;
const WLAN_QOS_CONTROL = 2;
const WLAN_HT_CONTROL = 4;
const FC_TYPE_DATA = 2;
const FC_SUBTYPE_QOS = 0x8;
const FC_SUBTYPE_NO_DATA = 0x4;
const FC_TO_DS = 0x01;
const FC_FROM_DS = 0x02;
const FC_PROTECTED = 0x40;
/** In a QoS data frame, the +HTC bit: an HT Control field follows the QoS Control field (§9.2.4.1.10). */
const FC_ORDER = 0x80;
const QOS_AMSDU_PRESENT = 0x80;
/** Stands for "a length field follows" in decodeEncapsulated: the frame body starts with an 802.2 LLC header. */
const LLC_FOLLOWS = 0;
const FCS = 4;

/** Radiotap (radiotap.org): version, pad, length (LE), then presence bitmaps, 32 bits each, bit 31 chaining. */
const RADIOTAP_MIN = 8;
const RT_PRESENT_EXT = 0x80000000;
const RT_TSFT = 0x1;
const RT_FLAGS = 0x2;
const RT_FLAG_FCS = 0x10;
const RT_FLAG_DATA_PAD = 0x20;

/** AVS capture header: magic/version (BE, 0x8021100x), then its length (BE). */
const AVS_MAGIC_MASK = 0xfffff000;
const AVS_MAGIC = 0x80211000;
/** The wlan-ng Prism monitor header has a fixed size (libpcap and Wireshark read it as 144 bytes). */
const PRISM_HEADER = 144;

export function decodeIeee80211(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  return decodeWlanFrame(b, off, off, end, 0, v);
}

export function decodeRadiotap(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  if (end - off < RADIOTAP_MIN) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const len = le16(b, off + 2);
  if (len < RADIOTAP_MIN || end - off < len) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  // Fields start after the last presence word; the first word's bit 0 (TSFT, 8 bytes, 8-aligned) comes before
  // bit 1 (Flags, 1 byte). Alignment is from the start of the radiotap header.
  const first = le32(b, off + 4);
  let p = 4;
  for (let word = first; (word & RT_PRESENT_EXT) !== 0 && p + 8 <= len; ) {
    p += 4;
    word = le32(b, off + p);
  }
  p += 4;
  let flags = 0;
  if ((first & RT_FLAGS) !== 0) {
    if ((first & RT_TSFT) !== 0) p = ((p + 7) & ~7) + 8;
    if (p < len) flags = b[off + p];
  }
  return decodeWlanFrame(b, off, off + len, end, flags, v);
}

/** LINKTYPE_IEEE802_11_AVS, and LINKTYPE_IEEE802_11_PRISM, whose files may hold AVS headers instead (libpcap's note). */
export function decodeAvsOrPrism(b: Uint8Array, off: number, end: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, 0);
  if (end - off < 8) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const len = ((u32(b, off) & AVS_MAGIC_MASK) >>> 0) === AVS_MAGIC ? u32(b, off + 4) : PRISM_HEADER;
  if (len < 8 || end - off < len) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  return decodeWlanFrame(b, off, off + len, end, 0, v);
}

/**
 * The 802.11 frame at `p` (the packet starts at `off`); `rtFlags` are the radiotap Flags (FCS at the end, padding
 * after the header), 0 when the link says nothing.
 */
function decodeWlanFrame(b: Uint8Array, off: number, p: number, end: number, rtFlags: number, v: PacketView): DecodeStatus {
  setLinkHeader(v, p - off);
  // Control frames are shorter than a data header (an ACK is 10 bytes): the type first.
  if (end - p < 2) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const fc0 = b[p];
  const fc1 = b[p + 1];
  const fc = (fc0 << 8) | fc1;
  const subtype = fc0 >> 4;
  if ((fc0 & 0x3) !== 0 || ((fc0 >> 2) & 0x3) !== FC_TYPE_DATA || (subtype & FC_SUBTYPE_NO_DATA) !== 0) {
    return fail(v, DecodeStatus.NON_IP, DecodeReason.WLAN_FRAME, fc);
  }
  if (end - p < WLAN_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  const ds = fc1 & (FC_TO_DS | FC_FROM_DS);
  let hdr = WLAN_HEADER;
  if (ds === (FC_TO_DS | FC_FROM_DS)) hdr += WLAN_ADDR4;
  let qos = 0;
  if ((subtype & FC_SUBTYPE_QOS) !== 0) {
    if (end - p < hdr + WLAN_QOS_CONTROL) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
    qos = b[p + hdr];
    hdr += WLAN_QOS_CONTROL;
    if ((fc1 & FC_ORDER) !== 0) hdr += WLAN_HT_CONTROL;
  }
  if (end - p < hdr) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
  // Table 9-30: DA and SA by the DS bits (address 1 is the receiver, 2 the transmitter).
  const da = ds === 0 || ds === FC_FROM_DS ? p + 4 : p + 16;
  const sa = ds === 0 || ds === FC_TO_DS ? p + 10 : ds === FC_FROM_DS ? p + 16 : p + 24;
  v.dstMacHi = u16(b, da);
  v.dstMacLo = u32(b, da + 2);
  v.srcMacHi = u16(b, sa);
  v.srcMacLo = u32(b, sa + 2);
  if ((fc1 & FC_PROTECTED) !== 0 || (qos & QOS_AMSDU_PRESENT) !== 0) {
    return fail(v, DecodeStatus.NON_IP, DecodeReason.WLAN_FRAME, fc);
  }
  // The FCS, when the frame was captured whole with it, is not part of the body.
  const fcs = (rtFlags & RT_FLAG_FCS) !== 0;
  let bodyEnd = end;
  if (fcs && end - off >= v.wirelen && end - p >= hdr + FCS) bodyEnd = end - FCS;
  const body = p + ((rtFlags & RT_FLAG_DATA_PAD) !== 0 ? (hdr + 3) & ~3 : hdr);
  const status = decodeEncapsulated(b, off, body, bodyEnd, LLC_FOLLOWS, v);
  if (fcs) v.linkOctets = v.linkOctets > FCS ? v.linkOctets - FCS : 0;
  return status;
}
