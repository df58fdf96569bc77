/** Savefile sources: pcap (µs or ns, either byte order) and pcapng, all through libpcap at nanosecond precision. */
import { addon } from './native.js';
import { PacketSource } from './source.js';

export interface FileOptions {
  filter?: string;
  batchBytes?: number;
  batchPackets?: number;
}

/** Opens a capture file ("-" reads standard input). Throws an Error carrying libpcap's text. */
export function openFile(path: string, opts: FileOptions = {}): PacketSource {
  const h = addon.openOffline(path, opts.filter);
  return new PacketSource(h, path, opts.batchBytes, opts.batchPackets);
}
