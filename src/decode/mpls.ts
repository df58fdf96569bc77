/** MPLS label stacks (RFC 3032 §2.1), walked with bounds checks (softflowd's walk has none: its issues #66/#67). */
import { u32 } from './bytes.js';
import { MAX_MPLS_LABELS, type PacketView } from './packet.js';

/** RFC 3032 §2.1: each label stack entry is 4 octets; S (bottom of stack) is bit 8 of the 32-bit entry. */
const MPLS_ENTRY = 4;
const MPLS_BOTTOM_OF_STACK = 0x100;

/**
 * Entries walked before giving up. No RFC bound exists; real stacks are a handful deep. Entries past
 * MAX_MPLS_LABELS are walked but not kept, so two stacks that differ only that deep look alike to the flow key.
 */
export const MAX_MPLS_WALK = 64;

/** walkMpls results that are not a position. */
export const MPLS_TRUNCATED = -1;
export const MPLS_TOO_DEEP = -2;

/**
 * Walks the label stack starting at absolute offset `p`, keeping the first MAX_MPLS_LABELS entries in v.mpls
 * when `keep` (a stack inside a pseudowire's inner frame is not the captured link's, and is not kept).
 * Returns the offset of the payload after the bottom-of-stack entry, MPLS_TRUNCATED when the capture ends first,
 * or MPLS_TOO_DEEP after MAX_MPLS_WALK entries without the S bit.
 */
export function walkMpls(b: Uint8Array, p: number, end: number, v: PacketView, keep: boolean): number {
  for (let n = 0; n < MAX_MPLS_WALK; n++) {
    if (end - p < MPLS_ENTRY) return MPLS_TRUNCATED;
    const entry = u32(b, p);
    p += MPLS_ENTRY;
    if (keep && v.mplsDepth < MAX_MPLS_LABELS) v.mpls[v.mplsDepth++] = entry;
    if ((entry & MPLS_BOTTOM_OF_STACK) !== 0) return p;
  }
  return MPLS_TOO_DEEP;
}
