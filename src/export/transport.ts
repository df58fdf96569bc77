/**
 * UDP transport to one or more collectors: connected sockets, a paced send queue (so an end-of-file or
 * expire-all burst does not overrun a collector's socket buffer), and failure counting that never stops the
 * probe when a collector is down or unreachable.
 *
 * The sockets are native/src/udp.cc's: send(2) from the caller's buffer, synchronously. Node's dgram cost about
 * 6 us per datagram on top of the kernel's work and needed a copy kept alive until its callback; a datagram is
 * copied here only when it has to wait (pacing, or a full socket buffer), and a paced one into a buffer of the
 * queue's that is reused from one burst to the next.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import util from 'node:util';
import { addon, type UdpSocket } from '../capture/native.js';
import { withPort } from '../decode/address.js';

export interface CollectorAddress {
  host: string;
  port: number;
}

/** Parses softflowd's -n syntax: host:port, [v6addr]:port, or a bare v6 address with a trailing :port. */
export function parseCollector(spec: string): CollectorAddress {
  const bad = (why: string): never => {
    throw new Error(`bad collector "${spec}": ${why} (expected host:port or [ipv6]:port)`);
  };
  let host: string;
  let portStr: string;
  const m = /^\[([^\]]+)\]:(\S+)$/.exec(spec);
  if (m) {
    host = m[1]!;
    portStr = m[2]!;
  } else {
    if (spec.startsWith('[')) bad("'[' without ']:port' after the address");
    const i = spec.lastIndexOf(':');
    if (i < 0) bad('no port');
    if (i === 0) bad('no host');
    host = spec.slice(0, i);
    portStr = spec.slice(i + 1);
    // "::1:9995" could be an address with a port or an address alone: brackets say which.
    if (host.includes(':')) bad('IPv6 addresses go in brackets');
  }
  if (!/^\d+$/.test(portStr)) bad(`port "${portStr}" is not a number`);
  const port = Number(portStr);
  if (port < 1 || port > 65535) bad(`port ${port} is out of range`);
  return { host, port };
}

export interface TransportStats {
  /** Datagrams handed to the kernel successfully (per collector sends are counted once per datagram). */
  datagrams: number;
  /** Sends that failed (collector unreachable, refused, no route), counted per collector. */
  failures: number;
  /** Last failure text, for the log and statistics. */
  lastError: string;
}

interface Peer {
  label: string;
  sock: UdpSocket;
  /** Datagrams the socket could not take yet (its buffer was full), oldest first, from `done` on. */
  backlog: Buffer[];
  done: number;
}

const { EAGAIN, EWOULDBLOCK, ENOBUFS, EINTR } = os.constants.errno;

export interface TransportOptions {
  /** Datagrams per second over all collectors; 0 means unpaced. */
  rate?: number;
  /** Send each datagram to one collector in turn (softflowd -l) instead of to all. */
  loadBalance?: boolean;
  /** IP_MULTICAST_TTL / hop limit for multicast collectors (softflowd -L). */
  hopLimit?: number;
  /** Interface the datagrams leave by, whatever the routes say (SO_BINDTODEVICE, softflowd -S). */
  sendInterface?: string;
  onError?: (message: string) => void;
}

export const DEFAULT_EXPORT_RATE = 20000;

/**
 * Most datagrams the pacing queue holds (some 12 MB). A file job waits for the queue long before this; a live
 * probe cannot wait, so when flows end faster than the rate allows for long (an expire-all of millions of flows,
 * a flood) the oldest datagrams go out at once instead: the collector may drop some, but the probe's memory
 * stays bounded and it drops nothing itself.
 */
export const MAX_PACED_QUEUE = 8192;
/**
 * Queue slots kept once the queue has drained (their buffers are reused by the next burst; a maxflows eviction
 * makes some 100 datagrams): the rest of a large episode's slots are let go.
 */
const KEEP_SLOTS = 512;
/** Bytes of a new slot's buffer: the largest usual datagram (the encoders' 1400 and v5's 1464); larger ones grow it. */
const SLOT_BYTES = 1500;
/**
 * Most datagrams waiting for one collector's socket buffer. A send buffer that stays full (ENOBUFS from a
 * device that is down) would otherwise grow without end; past this the oldest waiting datagram is given up and
 * counted as a failure.
 */
export const MAX_BACKLOG = 4096;

export interface ResolvedCollector extends CollectorAddress {
  /** "addr:port", "[v6addr]:port": how logs and summaries name it. */
  label: string;
}

/** The collector with its name resolved to an address (host is then numeric); throws one line if it does not. */
export async function resolveCollector(c: CollectorAddress): Promise<ResolvedCollector> {
  let addr = c.host;
  let family = net.isIP(addr);
  if (!family) {
    try {
      const r = await dns.lookup(c.host);
      addr = r.address;
      family = r.family;
    } catch (e) {
      throw new Error(`cannot resolve collector "${c.host}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { host: addr, port: c.port, label: withPort(addr, c.port, family) };
}

/** What the probe asks of a transport: UdpTransport, or the export thread's stand-in for it (thread.ts). */
export interface Transport {
  readonly collectors: readonly string[];
  readonly stats: TransportStats;
  /** Datagrams not yet handed to the kernel. */
  readonly pending: number;
  drained(): Promise<void>;
  close(): Promise<void>;
}

export class UdpTransport implements Transport {
  readonly stats: TransportStats = { datagrams: 0, failures: 0, lastError: '' };
  private peers: Peer[] = [];
  /**
   * Datagrams waiting for pacing tokens: a ring of `count` from `head`, datagram i in slots[i] (its first lens[i]
   * bytes). The slots' buffers are kept and reused, so a burst costs copies but no allocations once warm.
   */
  private slots: Buffer[] = [];
  private lens: number[] = [];
  private head = 0;
  private count = 0;
  /** The pump's timer, made once and re-armed with refresh(); `armed` says whether it is due to fire. */
  private timer: NodeJS.Timeout | null = null;
  private armed = false;
  private waiters: (() => void)[] = [];
  private rr = 0;
  private tokens: number;
  private lastRefill = 0;
  private readonly rate: number;
  private closed = false;
  private overrunning = false;

  private constructor(private readonly opts: TransportOptions) {
    this.rate = opts.rate ?? DEFAULT_EXPORT_RATE;
    this.tokens = this.burst();
  }

  /** Resolves the collectors' names and connects one UDP socket to each. */
  static async open(collectors: CollectorAddress[], opts: TransportOptions = {}): Promise<UdpTransport> {
    const t = new UdpTransport(opts);
    for (const c of collectors) {
      let resolved: ResolvedCollector;
      try {
        resolved = await resolveCollector(c);
      } catch (e) {
        await t.close();
        throw e;
      }
      const { host: addr, label } = resolved;
      let sock: UdpSocket;
      try {
        sock = addon.udpOpen(addr, c.port, opts.hopLimit ?? -1, opts.sendInterface);
      } catch (e) {
        await t.close();
        throw new Error(`cannot connect to collector ${label}: ${(e as Error).message}`);
      }
      if (sock.connectErrno !== 0) {
        // No route now (an interface not up yet, a VPN down): start anyway and count each failed send, so the
        // probe captures meanwhile and exports once the route appears.
        const code = util.getSystemErrorName(-sock.connectErrno);
        opts.onError?.(`collector ${label} is unreachable now (${code}); sending anyway, failures are counted`);
      }
      t.peers.push({ label, sock, backlog: [], done: 0 });
      t.collectors.push(label);
    }
    return t;
  }

  /** The collectors as "addr:port" (kept after close, for summaries). */
  readonly collectors: string[] = [];

  /** Datagrams waiting to be sent (per collector for those waiting on one collector's full buffer). */
  get pending(): number {
    let n = this.count;
    for (const p of this.peers) n += p.backlog.length - p.done;
    return n;
  }

  /** Sends the datagram, or queues a copy of it (the caller reuses its buffer). */
  send(datagram: Uint8Array): void {
    if (this.closed || this.peers.length === 0) return;
    if (this.count === 0 && !this.armed && this.token()) {
      this.transmit(datagram);
      if (!this.armed && this.pending > 0) this.schedule();
      return;
    }
    if (this.count === MAX_PACED_QUEUE) this.overrun();
    this.enqueue(datagram);
    this.pump();
  }

  /** Copies the datagram to the ring's tail, growing the ring (in powers of two, up to MAX_PACED_QUEUE) if full. */
  private enqueue(d: Uint8Array): void {
    let cap = this.slots.length;
    if (this.count === cap) {
      // Unrolled so the oldest is at 0 again; new slots get their buffers when first used.
      const slots: Buffer[] = [];
      const lens: number[] = [];
      for (let i = 0; i < this.count; i++) {
        slots.push(this.slots[(this.head + i) % cap]!);
        lens.push(this.lens[(this.head + i) % cap]!);
      }
      cap = Math.min(MAX_PACED_QUEUE, Math.max(16, cap * 2));
      for (let i = this.count; i < cap; i++) {
        slots.push(EMPTY);
        lens.push(0);
      }
      this.slots = slots;
      this.lens = lens;
      this.head = 0;
    }
    const i = (this.head + this.count) % cap;
    let b = this.slots[i]!;
    if (b.length < d.length) b = this.slots[i] = Buffer.allocUnsafeSlow(Math.max(SLOT_BYTES, d.length));
    b.set(d);
    this.lens[i] = d.length;
    this.count++;
  }

  /** Sends the datagram at the head of the ring and frees its slot. */
  private transmitHead(): void {
    const i = this.head;
    this.head = (i + 1) % this.slots.length;
    this.count--;
    this.transmit(this.slots[i]!.subarray(0, this.lens[i]!));
  }

  /** The pacing queue is full: the oldest datagram goes now, without a token. Logged once per episode. */
  private overrun(): void {
    if (!this.overrunning) {
      this.overrunning = true;
      this.opts.onError?.(`export queue over ${MAX_PACED_QUEUE} datagrams: sending faster than the export rate (${this.rate}/s) until it drains`);
    }
    this.transmitHead();
  }

  /** Resolves when everything queued so far has been handed to the kernel. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  async close(): Promise<void> {
    await this.drained();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armed = false;
    for (const p of this.peers) p.sock.close();
    this.peers = [];
  }

  private burst(): number {
    return this.rate > 0 ? Math.max(8, Math.ceil(this.rate / 1000)) : Infinity;
  }

  /** Takes a pacing token if there is one. */
  private token(): boolean {
    if (this.rate <= 0) return true;
    const now = performance.now();
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.lastRefill) * this.rate) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private fail(label: string, code: string): void {
    this.stats.failures++;
    const msg = `export to ${label} failed: ${code}`;
    if (msg !== this.stats.lastError) this.opts.onError?.(msg);
    this.stats.lastError = msg;
  }

  private pump(): void {
    if (this.armed) return;
    this.retryBacklogs();
    while (this.count > 0 && this.token()) this.transmitHead();
    if (this.count === 0) {
      this.head = 0;
      this.overrunning = false;
      // An expire-all's thousands of slots are not kept for the next ordinary burst.
      if (this.slots.length > KEEP_SLOTS) {
        this.slots.length = KEEP_SLOTS;
        this.lens.length = KEEP_SLOTS;
      }
    }
    if (this.pending > 0) this.schedule();
    else this.settle();
  }

  /**
   * Waits for tokens or buffer room: 1 ms is the timer's resolution, and refills per ms are several datagrams.
   * One timer re-armed each time, rather than a new one per millisecond of a burst.
   */
  private schedule(): void {
    this.armed = true;
    if (this.timer !== null) this.timer.refresh();
    else this.timer = setTimeout(this.onTimer, 1);
  }

  private readonly onTimer = (): void => {
    this.armed = false;
    this.pump();
  };

  private transmit(d: Uint8Array): void {
    if (this.opts.loadBalance) this.sendTo(this.peers[this.rr++ % this.peers.length]!, d);
    else for (const p of this.peers) this.sendTo(p, d);
    this.stats.datagrams++;
  }

  private sendTo(p: Peer, d: Uint8Array): void {
    // Behind a backlog the datagram waits its turn, so each collector gets them in order.
    if (p.done < p.backlog.length || this.write(p, d) === RETRY) {
      if (p.backlog.length - p.done >= MAX_BACKLOG) {
        if (++p.done >= MAX_BACKLOG) {
          p.backlog.splice(0, p.done);
          p.done = 0;
        }
        this.fail(p.label, `socket buffer full for ${MAX_BACKLOG} datagrams, oldest dropped`);
      }
      p.backlog.push(Buffer.from(d));
    }
  }

  /** One send: SENT, RETRY when the socket buffer is full, FAILED (counted) otherwise. */
  private write(p: Peer, d: Uint8Array): number {
    let r = p.sock.send(d);
    if (r === -EINTR) r = p.sock.send(d);
    if (r >= 0) return SENT;
    if (r === -EAGAIN || r === -EWOULDBLOCK || r === -ENOBUFS) return RETRY;
    // A connected socket reports an ICMP error from an earlier send on this one: count it, go on.
    this.fail(p.label, util.getSystemErrorName(r));
    return FAILED;
  }

  private retryBacklogs(): void {
    for (const p of this.peers) {
      while (p.done < p.backlog.length && this.write(p, p.backlog[p.done]!) !== RETRY) p.done++;
      if (p.done === p.backlog.length) {
        p.backlog.length = 0;
        p.done = 0;
      }
    }
  }

  private settle(): void {
    if (this.pending === 0 && this.waiters.length) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }
}

const EMPTY = Buffer.alloc(0);
const SENT = 0;
const RETRY = 1;
const FAILED = 2;
