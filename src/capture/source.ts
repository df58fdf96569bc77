/** A packet source: something that fills a batch buffer (layout in batch.ts) from a savefile or a device. */
import { SLOT_SHIFT, type NativeHandle, type PcapStats } from './native.js';

/** Default batch buffer: room for hundreds of full-size packets per call. */
export const DEFAULT_BATCH_BYTES = 1 << 20;
export const DEFAULT_BATCH_PACKETS = 512;

export class PacketSource {
  /** The batch next() returned: the buffer given to the addon, or the read-ahead slot it was left in. */
  buf: Buffer;
  /** Aligned u32 view of buf, for reading batch headers without DataView calls. */
  u32: Uint32Array;
  /** The link type of the batch next() returned last (before any: the file's or device's first). */
  linkType: number;
  readonly snaplen: number;
  /** Only a pcapng's link type can change between batches: other sources pay nothing per batch for it. */
  readonly linkTypeVaries: boolean;
  private readonly ownBuf: Buffer;
  private readonly ownU32: Uint32Array;
  /** A savefile's read-ahead slots, read in place (no copy per batch); null until and unless there are some. */
  private slots: { buf: Buffer; u32: Uint32Array }[] | null = null;
  private askedSlots = false;
  private closed = false;

  constructor(
    private readonly handle: NativeHandle,
    readonly name: string,
    batchBytes = DEFAULT_BATCH_BYTES,
    private readonly batchPackets = DEFAULT_BATCH_PACKETS,
  ) {
    // An ArrayBuffer of its own (not a pooled Buffer slice), so the u32 view is aligned.
    const ab = new ArrayBuffer(batchBytes);
    this.buf = this.ownBuf = Buffer.from(ab);
    this.u32 = this.ownU32 = new Uint32Array(ab);
    this.linkType = handle.datalink();
    this.snaplen = handle.snaplen();
    this.linkTypeVaries = handle.linkTypeVaries === true;
  }

  /**
   * Fills buf: returns packets in the batch, 0 when a live device has none ready, -1 at end of file. buf and u32
   * then show that batch (and are valid until the next call): with a plain savefile, from the second call on, one
   * of the slots its read-ahead thread filled, which saves copying each batch.
   */
  next(): number {
    const r = this.handle.next(this.ownBuf, this.batchPackets);
    const slots = this.slots;
    if (slots === null) {
      if (this.linkTypeVaries && r > 0) this.linkType = this.handle.datalink();
      if (!this.askedSlots) {
        this.askedSlots = true;
        const abs = this.handle.slotBuffers();
        if (abs) this.slots = abs.map((a) => ({ buf: Buffer.from(a), u32: new Uint32Array(a) }));
      }
      return r;
    }
    if (r < 1 << SLOT_SHIFT) {
      this.buf = this.ownBuf;
      this.u32 = this.ownU32;
      return r;
    }
    const s = slots[(r >>> SLOT_SHIFT) - 1]!;
    this.buf = s.buf;
    this.u32 = s.u32;
    return r & ((1 << SLOT_SHIFT) - 1);
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
