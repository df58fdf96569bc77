/** Ethertypes we act on (IEEE "EtherType" registry; the RFC that defines each use is named). */
export const ETHERTYPE_IPV4 = 0x0800; // RFC 894
export const ETHERTYPE_ARP = 0x0806; // RFC 826
export const ETHERTYPE_IPV6 = 0x86dd; // RFC 2464 §3
export const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad S-tag
/** Pre-802.1ad vendor S-tag (not in the registry, still sent by some switches); 0x9200 and 0x9300 likewise. */
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_QINQ_OLD2 = 0x9200;
export const ETHERTYPE_QINQ_OLD3 = 0x9300;
export const ETHERTYPE_MPLS = 0x8847; // RFC 3032 §5
export const ETHERTYPE_MPLS_MULTICAST = 0x8848; // RFC 3032 §5, RFC 5332 §4
/** IEEE 802.1ah provider backbone bridging: a 4-byte I-tag (I-SID), then the customer's whole Ethernet frame. */
export const ETHERTYPE_PBB = 0x88e7;
/** Cisco MetaData (TrustSec SGT tag, draft-smith-kandula-sxp): 8 bytes, the next ethertype in its last two. */
export const ETHERTYPE_CISCO_METADATA = 0x8909;
export const ETHERTYPE_PPPOE_DISCOVERY = 0x8863; // RFC 2516 §4
export const ETHERTYPE_PPPOE_SESSION = 0x8864; // RFC 2516 §4
/** IEEE 802.3 §3.2.6: a type/length field up to 1500 is a length, and an 802.2 LLC header follows. */
export const ETHER_MAX_LENGTH_FIELD = 1500;
