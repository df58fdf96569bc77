/**
 * The receiver's UDP sockets: bound through native/src/udprecv.cc and read a batch at a time (recvmmsg) into one
 * buffer of fixed slots, so a datagram costs no JS callback, Buffer, address object or allocation of its own. The
 * caller's onBatch sees the datagrams of one read and finds each one's bytes and source through the slot
 * accessors below.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import util from 'node:util';
import { addon, type UdpReceiveSocket } from '../capture/native.js';
import { withPort } from '../decode/address.js';

/** The largest UDP payload over IPv6 (65535 less the 8-byte UDP header), rounded up: no datagram is ever cut. */
export const SLOT_BYTES = 65536;
/** Datagrams per read. */
export const SLOTS = 64;
/**
 * Reads per wake-up before timers and signals get a turn; the poll is level triggered, so whatever is left is
 * read on the next turn of the loop.
 */
const READS_PER_WAKE = 8;
/** More than a 32 MiB socket buffer holds of the smallest NetFlow datagrams, a batch at a time. */
const DRAIN_READS = 16384;

const M = addon.udpMeta;
/** The errno's name (EADDRINUSE), as the transport's socket errors are named; undefined for one Node does not know. */
const errnoName = (errno: number): string | undefined => util.getSystemErrorMap().get(-errno)?.[0];

/** Slot accessors for onBatch: slot i's bytes are buf[i * slotBytes, + length(i)), also slots[i] and views[i]. */
export interface Batch {
  readonly buf: Uint8Array;
  readonly meta: Uint32Array;
  readonly slotBytes: number;
  /** Each slot as bytes and as a DataView, made once: a datagram needs no view of its own. */
  readonly slots: readonly Uint8Array[];
  readonly views: readonly DataView[];
}

export const metaWords = M.words;
export const metaLength = M.length;
export const metaPort = M.port;
export const metaFamily = M.family;
export const metaTruncated = M.truncated;
export const metaAddr = M.addr;

export interface ListenOptions {
  /** SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). */
  rcvbuf: number;
  slots?: number;
  slotBytes?: number;
  /** A read that failed (not "nothing to read"): the socket goes on. */
  onError?: (message: string) => void;
}

export interface ListenError extends Error {
  code?: string;
  errno?: number;
}

export class UdpListener implements Batch {
  readonly buf: Uint8Array;
  readonly meta: Uint32Array;
  readonly slotBytes: number;
  readonly slots: readonly Uint8Array[];
  readonly views: readonly DataView[];
  private sock: UdpReceiveSocket | null;
  private readonly said = new Set<number>();
  private lastDrops = 0;

  private constructor(
    readonly address: string,
    readonly family: 4 | 6,
    sock: UdpReceiveSocket,
    buf: Uint8Array,
    meta: Uint32Array,
    slotBytes: number,
    private readonly onError: (message: string) => void,
  ) {
    this.sock = sock;
    this.buf = buf;
    this.meta = meta;
    this.slotBytes = slotBytes;
    const n = Math.floor(buf.byteLength / slotBytes);
    this.slots = Array.from({ length: n }, (_, i) => buf.subarray(i * slotBytes, (i + 1) * slotBytes));
    this.views = this.slots.map((s) => new DataView(s.buffer, s.byteOffset, s.byteLength));
  }

  /** The port bound (the kernel's choice when 0 was asked). */
  get port(): number {
    return this.sock?.port ?? 0;
  }

  /** The socket's receive buffer as the kernel set it, and why setting it failed (0: it did not). */
  get rcvbuf(): { bytes: number; errno: number } {
    return { bytes: this.sock?.rcvbuf ?? 0, errno: this.sock?.rcvbufErrno ?? 0 };
  }

  /**
   * Binds address:port (a name is looked up, as Node's sockets do: an address with ':' is IPv6, else IPv4).
   * Throws an Error whose code is the errno's name (EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND, ...).
   */
  static async open(address: string, port: number, o: ListenOptions): Promise<UdpListener> {
    const family = address.includes(':') ? 6 : 4;
    const numeric = isIP(address) !== 0 ? address : (await lookup(address, { family })).address;
    const slotBytes = o.slotBytes ?? SLOT_BYTES;
    const slots = o.slots ?? SLOTS;
    const buf = new Uint8Array(slots * slotBytes);
    const meta = new Uint32Array(slots * M.words);
    let sock: UdpReceiveSocket;
    try {
      sock = addon.udpListen(numeric, port, o.rcvbuf, buf, slotBytes, meta);
    } catch (e) {
      const err = e as ListenError;
      const code = err.errno !== undefined ? errnoName(-err.errno) : undefined;
      const out: ListenError = new Error(`bind ${code ?? err.message} ${withPort(numeric, port, family)}`);
      out.code = code;
      out.errno = err.errno;
      throw out;
    }
    return new UdpListener(numeric, family, sock, buf, meta, slotBytes, o.onError ?? (() => undefined));
  }

  /** Calls onBatch(this, n) for each read of n datagrams while they wait, a bounded number of reads per turn. */
  start(onBatch: (batch: Batch, n: number) => void): void {
    const sock = this.sock;
    if (sock === null) throw new Error('the socket is closed');
    sock.startPoll(() => {
      for (let r = 0; r < READS_PER_WAKE && this.sock !== null; r++) {
        const n = sock.recv();
        if (n > 0) onBatch(this, n);
        else {
          if (n < 0) this.failed(-n);
          break;
        }
        if (n < sock.slots) break;
      }
    });
  }

  /**
   * Reads and hands on what waits now (shutdown: what the kernel already holds is stored too), bounded so a
   * sender that never stops cannot hold the shutdown up.
   */
  drain(onBatch: (batch: Batch, n: number) => void): void {
    const sock = this.sock;
    if (sock === null) return;
    for (let r = 0; r < DRAIN_READS; r++) {
      const n = sock.recv();
      if (n <= 0) break;
      onBatch(this, n);
    }
  }

  /**
   * Datagrams the kernel dropped at this socket for want of buffer space (SO_RXQ_OVFL), as of the last datagram
   * read: drops after it are seen with the next one.
   */
  get kernelDrops(): number {
    if (this.sock !== null) this.lastDrops = this.sock.drops();
    return this.lastDrops;
  }

  close(): void {
    if (this.sock !== null) this.lastDrops = this.sock.drops();
    this.sock?.close();
    this.sock = null;
  }

  private failed(errno: number): void {
    // Once per kind: an error repeating on every wake-up would flood the log.
    if (this.said.has(errno)) return;
    this.said.add(errno);
    this.onError(`socket ${withPort(this.address, this.port, this.family)}: read failed: ${errnoName(errno) ?? `errno ${errno}`}`);
  }
}
