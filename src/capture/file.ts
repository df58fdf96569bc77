/**
 * Savefile sources: pcap (µs or ns, either byte order) through libpcap at nanosecond precision (plain host-order
 * files through native/src/savefile.cc), and pcapng through native/src/pcapng.cc, which reads interfaces of
 * different link types (libpcap refuses those) and hands out one link type per batch.
 */
import { addon } from './native.js';
import { PacketSource } from './source.js';

export interface FileOptions {
  filter?: string;
  batchBytes?: number;
  batchPackets?: number;
  /** Read a pcapng through libpcap rather than our reader: only for tests that compare the two. */
  libpcap?: boolean;
}

/** Opens a capture file ("-" reads standard input). Throws an Error carrying libpcap's text. */
export function openFile(path: string, opts: FileOptions = {}): PacketSource {
  const h = addon.openOffline(path, opts.filter, opts.libpcap ? { libpcap: true } : undefined);
  return new PacketSource(h, path, opts.batchBytes, opts.batchPackets);
}
