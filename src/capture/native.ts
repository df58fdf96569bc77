/** Loads native/'s addon (capture, and the export transport's sockets) and types its surface. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Where next()'s slot number starts (native/src/addon.cc kSlotShift). */
export const SLOT_SHIFT = 20;

export interface PcapStats {
  received: number;
  dropped: number;
  ifDropped: number;
  /** Packets cut because they were larger than the whole batch buffer. */
  truncated: number;
}

export interface NativeHandle {
  /**
   * Copies up to maxPackets into buf; returns the count, 0 when a live device has none ready, -1 at end of file.
   * After slotBuffers() gave slots, a batch left in slot s comes back as count | (s + 1) << SLOT_SHIFT instead.
   */
  next(buf: Buffer, maxPackets: number): number;
  /** A plain savefile's read-ahead slots (after the first next()), to read batches in place; else null. */
  slotBuffers(): ArrayBuffer[] | null;
  /** The link type; for a handle whose linkTypeVaries, that of the batch next() returned last. */
  datalink(): number;
  /** A pcapng read by native/src/pcapng.cc: each batch has one link type, but batches may differ. */
  readonly linkTypeVaries: boolean;
  snaplen(): number;
  /** null for a savefile. */
  stats(): PcapStats | null;
  close(): void;
  startPoll(cb: (status: number) => void): void;
  stopPoll(): void;
}

export interface LiveOptions {
  snaplen?: number;
  promisc?: boolean;
  bufferSize?: number;
  immediate?: boolean;
  timeoutMs?: number;
  filter?: string;
}

/** A connected UDP socket of native/src/udp.cc (the export transport's). */
export interface UdpSocket {
  /** Sends the view as one datagram at once; returns the bytes sent or -errno (EAGAIN: the buffer is full). */
  send(view: Uint8Array): number;
  close(): void;
  /** 0, or why connect failed (no route at start-up): the socket then sends to the address each time. */
  readonly connectErrno: number;
}

/** A bound UDP socket of native/src/udprecv.cc, read a batch at a time into the caller's slots. */
export interface UdpReceiveSocket {
  /** Reads what waits (up to `slots`) into slots 0..n-1 and their meta words; 0 when none, or -errno. */
  recv(): number;
  /** cb is called while datagrams wait (level triggered); it reads them with recv(). */
  startPoll(cb: (status: number) => void): void;
  stopPoll(): void;
  close(): void;
  /** Datagrams the kernel dropped at the socket (buffer full), as of the last one read. */
  drops(): number;
  /** The port bound (the one asked, or the kernel's choice for 0). */
  readonly port: number;
  /** The receive buffer as the kernel set it, and why setting it failed (0: it did not). */
  readonly rcvbuf: number;
  readonly rcvbufErrno: number;
  readonly slots: number;
}

/** Where each slot's facts sit among its `words` meta words (see native/src/udprecv.cc). */
export interface UdpMetaLayout {
  words: number;
  length: number;
  port: number;
  /** 4 or 6 (IPv4-mapped IPv6 sources as 4). */
  family: number;
  /** 0, or the datagram's own length when the slot was too small for it. */
  truncated: number;
  /** Four big-endian words of the source address, IPv4 in the first. */
  addr: number;
}

interface Addon {
  /** opts.libpcap: read a pcapng through libpcap instead of native/src/pcapng.cc (for tests that compare them). */
  openOffline(path: string, filter?: string, opts?: { libpcap?: boolean }): NativeHandle;
  openLive(device: string, opts: LiveOptions): NativeHandle;
  libVersion(): string;
  /**
   * A UDP socket connected to a numeric address; hopLimit < 0 leaves the multicast TTL alone; with a device, bound
   * to that interface (SO_BINDTODEVICE). Throws.
   */
  udpOpen(address: string, port: number, hopLimit: number, device?: string): UdpSocket;
  /** A UDP socket bound to a numeric address and port; throws an Error with errno (negative) on failure. */
  udpListen(address: string, port: number, rcvbuf: number, buffer: Uint8Array, slotSize: number, meta: Uint32Array): UdpReceiveSocket;
  udpMeta: UdpMetaLayout;
  /** One datagram to a Unix datagram socket (a log daemon's); 0 or -errno, never throws for a failed send. */
  unixDgramSend(path: string, data: Uint8Array): number;
  /** Releases the whole pages inside the view (MADV_DONTNEED: they read as zeros next time); bytes released. */
  releasePages(view: ArrayBufferView): number;
  /** Where the view's first byte falls in its 64-byte cache line (0-63). */
  lineOffset(view: ArrayBufferView): number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function load(): Addon {
  // src/capture → ../../native; dist/src/capture → ../../../native
  const candidates = [
    path.resolve(here, '../../native/build/Release/flowprobe_pcap.node'),
    path.resolve(here, '../../../native/build/Release/flowprobe_pcap.node'),
  ];
  let lastErr: unknown;
  for (const c of candidates) {
    try {
      return require(c) as Addon;
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(
    `the native capture addon is not built (run "npm ci" or "npm run install"): ${(lastErr as Error)?.message ?? ''}`,
  );
}

export const addon: Addon = load();
