/**
 * The batch buffer shared with native/: the addon fills a caller-owned buffer with packets, each as a 16-byte
 * header (host byte order, which is little-endian on every platform we build for) followed by the captured
 * bytes, padded so the next header starts on a 4-byte boundary.
 *
 *   u32 ts_sec | u32 ts_nsec | u32 caplen | u32 wirelen | caplen bytes | pad to 4
 */
export const BATCH_HEADER = 16;
export const OFF_SEC = 0;
export const OFF_NSEC = 4;
export const OFF_CAPLEN = 8;
export const OFF_WIRELEN = 12;

/** Bytes a packet of this caplen takes in the batch buffer. */
export function batchRecordSize(caplen: number): number {
  return BATCH_HEADER + ((caplen + 3) & ~3);
}
