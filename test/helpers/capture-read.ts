/**
 * A capture file read through the addon as flowprobe reads it (openFile, batches), every packet taken out of its
 * batch with the batch's link type, for tests that compare readers or check what a file holds.
 */
import { openFile, type FileOptions } from '../../src/capture/file.js';
import { BATCH_HEADER, batchRecordSize, OFF_CAPLEN, OFF_NSEC, OFF_SEC, OFF_WIRELEN } from '../../src/capture/batch.js';

export interface ReadPacket {
  sec: number;
  nsec: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  /** The captured bytes, valid only during the callback (the batch buffer is reused). */
  data: Buffer;
  /** The same with the batch's padding to 4 bytes after them (which the addon must leave zero). */
  padded: Buffer;
}

export interface CaptureRead<T> {
  packets: T[];
  /** The error that ended the reading (opening included), or null at a clean end. */
  error: string | null;
}

/** Reads `file` to its end or first error, turning each packet into what `each` returns. */
export function readCapture<T>(file: string, each: (p: ReadPacket) => T, opts: FileOptions = {}): CaptureRead<T> {
  const packets: T[] = [];
  let src;
  try {
    src = openFile(file, opts);
  } catch (e) {
    return { packets, error: (e as Error).message };
  }
  let error: string | null = null;
  try {
    // Bounded: a reader that never reached the end would otherwise hang the test.
    for (let guard = 0; guard < 1_000_000; guard++) {
      const n = src.next();
      if (n < 0) break;
      const b = src.buf;
      let off = 0;
      for (let i = 0; i < n; i++) {
        const caplen = b.readUInt32LE(off + OFF_CAPLEN);
        packets.push(
          each({
            sec: b.readUInt32LE(off + OFF_SEC),
            nsec: b.readUInt32LE(off + OFF_NSEC),
            caplen,
            wirelen: b.readUInt32LE(off + OFF_WIRELEN),
            linkType: src.linkType,
            data: b.subarray(off + BATCH_HEADER, off + BATCH_HEADER + caplen),
            padded: b.subarray(off + BATCH_HEADER, off + batchRecordSize(caplen)),
          }),
        );
        off += batchRecordSize(caplen);
      }
    }
  } catch (e) {
    error = (e as Error).message;
  } finally {
    src.close();
  }
  return { packets, error };
}
