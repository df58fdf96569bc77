/**
 * What may sit between a link header and IP, selected by ethertype: VLAN tags (802.1Q, 802.1ad and the old
 * 0x9100-style S-tags, stacked), PPPoE session headers, MPLS label stacks (with an Ethernet pseudowire inside),
 * 802.1ah provider backbone frames, Cisco MetaData (SGT) tags and 802.2 LLC/SNAP. Ethernet, Linux SLL/SLL2,
 * Cisco HDLC, ATM, PPP and PPPoE links all hand over to this one walk.
 *
 * The walk is a loop, not recursion: every step either returns or moves forward by at least 4 bytes, and the
 * number of steps is bounded, so a hostile frame costs at most MAX_ENCAP_STEPS iterations.
 *
 * Byte count (`linkOctets`, softflowd's): the link header includes VLAN tags, PPPoE, LLC/SNAP, MetaData and
 * 802.1ah headers (with the customer frame's header); it ends where MPLS begins, so label stack entries (and
 * anything inside a pseudowire) count as payload.
 *
 * Frames inside frames (an 802.1ah customer frame, an Ethernet pseudowire) are walked to their IP packet, but
 * their MACs, VLAN tags and labels are not recorded: those fields describe the link we captured on.
 */
import { u16 } from './bytes.js';
import {
  ETHER_MAX_LENGTH_FIELD,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_CISCO_METADATA,
  ETHERTYPE_MPLS,
  ETHERTYPE_MPLS_MULTICAST,
  ETHERTYPE_PBB,
  ETHERTYPE_PPPOE_SESSION,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_QINQ_OLD2,
  ETHERTYPE_QINQ_OLD3,
  ETHERTYPE_VLAN,
} from './ethertypes.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { MPLS_TOO_DEEP, MPLS_TRUNCATED, walkMpls } from './mpls.js';
import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';
import { pppToEthertype } from './pppproto.js';
import { fail, setLinkHeader } from './status.js';

/** IEEE 802.1Q §9.6: a tag is TCI (PCP 3 bits, DEI 1, VID 12) then the next ethertype. */
const VLAN_TAG = 4;
const VLAN_VID_MASK = 0x0fff;
/** Tags walked before the frame is called non-IP. Two is common (QinQ), three is seen; eight is generous. */
export const MAX_VLAN_TAGS = 8;
/** RFC 2516 §4: version/type, code, session id, length (6 bytes), then the 2-byte PPP protocol. */
const PPPOE_SESSION_HEADER = 8;
/** RFC 1042: LLC (DSAP 0xaa, SSAP 0xaa, UI 0x03) and SNAP (OUI 00-00-00, ethertype): 8 bytes. */
const LLC_SNAP_HEADER = 8;
const LLC_SAP_SNAP = 0xaa;
/** IEEE 802.2: DSAP, SSAP and a 1-byte (U-format) control field at least. */
const LLC_MIN_HEADER = 3;
const LLC_UI = 0x03;
/** IEEE 802.1ah: I-tag (PCP, DEI, UCA, reserved, 24-bit I-SID). */
const PBB_ITAG = 4;
/** Cisco MetaData: version, length, option, SGT, then the next ethertype. */
const CISCO_METADATA_HEADER = 8;
/** RFC 4385 §3: a pseudowire control word (first nibble 0) of 4 bytes follows the stack. */
const PW_CONTROL_WORD = 4;
/** IEEE 802.3: destination MAC, source MAC, ethertype. */
export const ETHER_HEADER = 14;
/** Steps (tags, shims stacks, headers) walked in total before giving up. */
const MAX_ENCAP_STEPS = 32;

/**
 * Walks from absolute offset `p`, where a payload of ethertype `type` starts, to the IP header and decodes it.
 * The packet starts at `off` and the capture ends before `end`.
 *
 * MPLS payload: after the bottom of the stack the first nibble picks IPv4 (4) or IPv6 (6). A 0 nibble is an
 * RFC 4385 control word, and we then decode the pseudowire's payload as an Ethernet frame (RFC 4448), as tshark's
 * heuristic does, so that the customer's IP traffic becomes flows. Without a control word an Ethernet pseudowire
 * cannot be told from IP by its bytes; it is taken as IP when its first nibble says so and is otherwise non-IP.
 */
export function decodeEncapsulated(
  b: Uint8Array,
  off: number,
  p: number,
  end: number,
  type: number,
  v: PacketView,
): DecodeStatus {
  let tags = 0;
  let linkDone = false;
  let inner = false;
  for (let step = 0; step < MAX_ENCAP_STEPS; step++) {
    switch (type) {
      case ETHERTYPE_IPV4:
        if (!linkDone) setLinkHeader(v, p - off);
        return decodeIpv4(b, off, p, end, v);
      case ETHERTYPE_IPV6:
        if (!linkDone) setLinkHeader(v, p - off);
        return decodeIpv6(b, off, p, end, v);
      case ETHERTYPE_VLAN:
      case ETHERTYPE_QINQ:
      case ETHERTYPE_QINQ_OLD:
      case ETHERTYPE_QINQ_OLD2:
      case ETHERTYPE_QINQ_OLD3: {
        if (++tags > MAX_VLAN_TAGS) return nonIp(v, off, p, linkDone, DecodeReason.TOO_MANY_HEADERS, type);
        if (end - p < VLAN_TAG) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        if (!inner) {
          const vid = u16(b, p) & VLAN_VID_MASK;
          if (tags === 1) v.vlan = vid;
          else if (tags === 2) v.vlanInner = vid;
        }
        type = u16(b, p + 2);
        p += VLAN_TAG;
        break;
      }
      case ETHERTYPE_PPPOE_SESSION: {
        if (end - p < PPPOE_SESSION_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        const proto = u16(b, p + 6);
        p += PPPOE_SESSION_HEADER;
        type = pppToEthertype(proto);
        if (type === 0) return nonIp(v, off, p, linkDone, DecodeReason.PPP_PROTOCOL, proto);
        break;
      }
      case ETHERTYPE_CISCO_METADATA:
        if (end - p < CISCO_METADATA_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        type = u16(b, p + 6);
        p += CISCO_METADATA_HEADER;
        break;
      case ETHERTYPE_PBB:
        if (end - p < PBB_ITAG + ETHER_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        type = u16(b, p + PBB_ITAG + 12);
        p += PBB_ITAG + ETHER_HEADER;
        inner = true;
        break;
      case ETHERTYPE_MPLS:
      case ETHERTYPE_MPLS_MULTICAST: {
        if (!linkDone) {
          setLinkHeader(v, p - off);
          linkDone = true;
        }
        const q = walkMpls(b, p, end, v, !inner);
        if (q === MPLS_TRUNCATED) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        if (q === MPLS_TOO_DEEP) return fail(v, DecodeStatus.NON_IP, DecodeReason.TOO_MANY_HEADERS, type);
        p = q;
        if (p >= end) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
        const nibble = b[p] >> 4;
        if (nibble === 4) type = ETHERTYPE_IPV4;
        else if (nibble === 6) type = ETHERTYPE_IPV6;
        else if (nibble === 0 && !inner) {
          if (end - p < PW_CONTROL_WORD + ETHER_HEADER) {
            return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
          }
          p += PW_CONTROL_WORD;
          type = u16(b, p + 12);
          p += ETHER_HEADER;
          inner = true;
        } else {
          return fail(v, DecodeStatus.NON_IP, DecodeReason.MPLS_PAYLOAD, nibble);
        }
        break;
      }
      default:
        if (type <= ETHER_MAX_LENGTH_FIELD) {
          // 802.3 length field: IP only when it comes as RFC 1042 SNAP with the ethertype OUI 00-00-00.
          if (end - p < LLC_MIN_HEADER) return fail(v, DecodeStatus.TOO_SHORT, DecodeReason.LINK_TRUNCATED);
          if (
            end - p >= LLC_SNAP_HEADER &&
            b[p] === LLC_SAP_SNAP &&
            b[p + 1] === LLC_SAP_SNAP &&
            b[p + 2] === LLC_UI &&
            b[p + 3] === 0 &&
            b[p + 4] === 0 &&
            b[p + 5] === 0
          ) {
            type = u16(b, p + 6);
            p += LLC_SNAP_HEADER;
            break;
          }
          return nonIp(v, off, p, linkDone, DecodeReason.LLC, b[p]);
        }
        // ARP, PPPoE discovery, LLDP, ...
        return nonIp(v, off, p, linkDone, DecodeReason.ETHERTYPE, type);
    }
  }
  return nonIp(v, off, p, linkDone, DecodeReason.TOO_MANY_HEADERS, type);
}

function nonIp(
  v: PacketView,
  off: number,
  p: number,
  linkDone: boolean,
  reason: DecodeReason,
  proto: number,
): DecodeStatus {
  if (!linkDone) setLinkHeader(v, p - off);
  return fail(v, DecodeStatus.NON_IP, reason, proto);
}
