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

/** Little-endian reads, for the link headers that the capturing host wrote in its own order (radiotap, PPI, NFLOG). */
export function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}

export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}
