/** PPP protocol numbers that carry what we decode (RFC 1661 §2, IANA "PPP DLL Protocol Numbers"). */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST } from './ethertypes.js';

export const PPP_IPV4 = 0x0021; // RFC 1332 §2
export const PPP_IPV6 = 0x0057; // RFC 5072 §3
export const PPP_MPLS = 0x0281; // RFC 3032 §4.3
export const PPP_MPLS_MULTICAST = 0x0283; // RFC 3032 §4.3

/** The ethertype that names the same payload as PPP protocol `proto`, or 0 when it is not one we decode. */
export function pppToEthertype(proto: number): number {
  switch (proto) {
    case PPP_IPV4:
      return ETHERTYPE_IPV4;
    case PPP_IPV6:
      return ETHERTYPE_IPV6;
    case PPP_MPLS:
      return ETHERTYPE_MPLS;
    case PPP_MPLS_MULTICAST:
      return ETHERTYPE_MPLS_MULTICAST;
    default:
      return 0;
  }
}
