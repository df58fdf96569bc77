/** Live sources: a device opened non-blocking, read in batches when the event loop says it is readable. */
import { addon, type LiveOptions } from './native.js';
import { PacketSource, DEFAULT_BATCH_BYTES } from './source.js';

export const DEFAULT_SNAPLEN = 262144;
/**
 * The kernel's capture buffer unless -B says otherwise. libpcap's 2 MiB holds some 50 ms of a busy link, less
 * than a scheduling hiccup on a shared machine; 32 MiB is most of a second (bench/live.ts).
 */
export const DEFAULT_BUFFER_BYTES = 32 << 20;
/**
 * Without immediate mode libpcap uses TPACKET_V3: the kernel fills blocks of packets and hands over a block when
 * it is full or this many milliseconds old. So a busy link costs one wake-up per block instead of one per packet
 * (immediate mode: TPACKET_V2, a frame per packet, a poll per few packets, and fixed-size frames that made the
 * same buffer hold far fewer packets), and a quiet link's packets are still seen within this time.
 */
export const DEFAULT_BLOCK_TIMEOUT_MS = 20;

/** Opens a device; by default in TPACKET_V3 blocks retired after DEFAULT_BLOCK_TIMEOUT_MS. */
export function openLive(device: string, opts: LiveOptions & { batchBytes?: number; batchPackets?: number } = {}): PacketSource {
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  const h = addon.openLive(device, {
    snaplen,
    promisc: opts.promisc ?? true,
    bufferSize: opts.bufferSize ?? DEFAULT_BUFFER_BYTES,
    immediate: opts.immediate ?? false,
    timeoutMs: opts.timeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS,
    filter: opts.filter,
  });
  // The buffer must hold at least one full packet, whatever the snaplen.
  const batchBytes = Math.max(opts.batchBytes ?? DEFAULT_BATCH_BYTES, snaplen + 64);
  return new PacketSource(h, device, batchBytes, opts.batchPackets);
}
