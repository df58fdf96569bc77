/**
 * The hot loop: take a batch from a packet source, decode each packet into the one reused PacketView, and hand
 * it on. Nothing here allocates per packet.
 */
import type { PacketSource } from '../capture/source.js';
import { BATCH_HEADER, OFF_CAPLEN, OFF_NSEC, OFF_SEC, OFF_WIRELEN } from '../capture/batch.js';
import { decodePacket } from '../decode/index.js';
import { PacketView } from '../decode/packet.js';

export interface PacketConsumer {
  onPacket(v: PacketView): void;
}

/**
 * Decodes the batch currently in src.buf (n packets, as returned by src.next()) and feeds each packet to c.
 * Returns the time of the last packet in seconds (fractional), or -1 for an empty batch.
 */
export function pumpBatch(src: PacketSource, n: number, v: PacketView, c: PacketConsumer): number {
  const u32 = src.u32;
  const buf = src.buf;
  const link = src.linkType;
  let off = 0;
  for (let i = 0; i < n; i++) {
    const w = off >>> 2;
    const caplen = u32[w + (OFF_CAPLEN >>> 2)]!;
    v.tsSec = u32[w + (OFF_SEC >>> 2)]!;
    v.tsNsec = u32[w + (OFF_NSEC >>> 2)]!;
    v.caplen = caplen;
    v.wirelen = u32[w + (OFF_WIRELEN >>> 2)]!;
    decodePacket(buf, off + BATCH_HEADER, caplen, v.wirelen, link, v);
    c.onPacket(v);
    off += BATCH_HEADER + ((caplen + 3) & ~3);
  }
  return n > 0 ? v.tsSec + v.tsNsec / 1e9 : -1;
}
