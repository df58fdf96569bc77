/**
 * Big-endian reads by byte arithmetic. The capture buffer is shared and packets start at any offset, so a
 * DataView per packet would allocate and one per buffer would tie the decoder to a buffer; these small functions
 * inline. Callers bounds-check first: past the end a Uint8Array reads undefined, which would turn into 0 here.
 */
export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}
