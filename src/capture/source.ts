/** A packet source: something that fills a batch buffer (layout in batch.ts) from a savefile or a device. */
import type { NativeHandle, PcapStats } from './native.js';

/** Default batch buffer: room for hundreds of full-size packets per call. */
export const DEFAULT_BATCH_BYTES = 1 << 20;
export const DEFAULT_BATCH_PACKETS = 512;

export class PacketSource {
  readonly buf: Buffer;
  /** Aligned u32 view of buf, for reading batch headers without DataView calls. */
  readonly u32: Uint32Array;
  readonly linkType: number;
  readonly snaplen: number;
  private closed = false;

  constructor(
    private readonly handle: NativeHandle,
    readonly name: string,
    batchBytes = DEFAULT_BATCH_BYTES,
    private readonly batchPackets = DEFAULT_BATCH_PACKETS,
  ) {
    // An ArrayBuffer of its own (not a pooled Buffer slice), so the u32 view is aligned.
    const ab = new ArrayBuffer(batchBytes);
    this.buf = Buffer.from(ab);
    this.u32 = new Uint32Array(ab);
    this.linkType = handle.datalink();
    this.snaplen = handle.snaplen();
  }

  /** Fills buf: returns packets in the batch, 0 when a live device has none ready, -1 at end of file. */
  next(): number {
    return this.handle.next(this.buf, this.batchPackets);
  }

  stats(): PcapStats | null {
    return this.closed ? null : this.handle.stats();
  }

  /** Calls onReadable whenever a live device has packets; a savefile has no such notification. */
  watch(onReadable: () => void): void {
    this.handle.startPoll(onReadable);
  }

  unwatch(): void {
    if (!this.closed) this.handle.stopPoll();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}
