/** Live sources: a device opened non-blocking, read in batches when the event loop says it is readable. */
import { addon, type LiveOptions } from './native.js';
import { PacketSource, DEFAULT_BATCH_BYTES } from './source.js';

export const DEFAULT_SNAPLEN = 262144;

/** Opens a device; immediate mode is on by default so a quiet link's packets are seen at once. */
export function openLive(device: string, opts: LiveOptions & { batchBytes?: number; batchPackets?: number } = {}): PacketSource {
  const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
  const h = addon.openLive(device, {
    snaplen,
    promisc: opts.promisc ?? true,
    bufferSize: opts.bufferSize,
    immediate: opts.immediate ?? true,
    timeoutMs: opts.timeoutMs ?? 100,
    filter: opts.filter,
  });
  // The buffer must hold at least one full packet, whatever the snaplen.
  const batchBytes = Math.max(opts.batchBytes ?? DEFAULT_BATCH_BYTES, snaplen + 64);
  return new PacketSource(h, device, batchBytes, opts.batchPackets);
}
