/**
 * UDP transport to one or more collectors: connected sockets, a paced send queue (so an end-of-file or
 * expire-all burst does not overrun a collector's socket buffer), and failure counting that never stops the
 * probe when a collector is down or unreachable.
 */
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import net from 'node:net';

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
    const i = spec.lastIndexOf(':');
    if (i <= 0) bad('no port');
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
  sock: dgram.Socket;
  /** Unconnected (no route at start-up): each send names the destination. */
  dest: { port: number; addr: string } | null;
}

export interface TransportOptions {
  /** Datagrams per second over all collectors; 0 means unpaced. */
  rate?: number;
  /** Send each datagram to one collector in turn (softflowd -l) instead of to all. */
  loadBalance?: boolean;
  /** IP_MULTICAST_TTL / hop limit for multicast collectors (softflowd -L). */
  hopLimit?: number;
  onError?: (message: string) => void;
}

export const DEFAULT_EXPORT_RATE = 20000;

export class UdpTransport {
  readonly stats: TransportStats = { datagrams: 0, failures: 0, lastError: '' };
  private peers: Peer[] = [];
  private queue: Buffer[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private waiters: (() => void)[] = [];
  private rr = 0;
  private tokens: number;
  private lastRefill = 0;
  private readonly rate: number;
  private closed = false;

  private constructor(private readonly opts: TransportOptions) {
    this.rate = opts.rate ?? DEFAULT_EXPORT_RATE;
    this.tokens = this.burst();
  }

  /** Resolves the collectors' names and connects one UDP socket to each. */
  static async open(collectors: CollectorAddress[], opts: TransportOptions = {}): Promise<UdpTransport> {
    const t = new UdpTransport(opts);
    for (const c of collectors) {
      let addr = c.host;
      let family = net.isIP(addr);
      if (!family) {
        try {
          const r = await dns.lookup(c.host);
          addr = r.address;
          family = r.family;
        } catch (e) {
          await t.close();
          throw new Error(`cannot resolve collector "${c.host}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      const label = family === 6 ? `[${addr}]:${c.port}` : `${addr}:${c.port}`;
      // An ICMP error from an earlier send surfaces as an 'error' event on a connected socket: count it, go on.
      sock.on('error', (e) => t.fail(label, e));
      let dest: Peer['dest'] = null;
      let peerSock = sock;
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          // Node hands a failed connect (no route) to this callback as its argument, not as an 'error' event.
          const onConnect = (err?: Error): void => {
            sock.off('error', reject);
            if (err) reject(err);
            else resolve();
          };
          sock.connect(c.port, addr, onConnect as () => void);
        });
      } catch (e) {
        // No route now (an interface not up yet, a VPN down): start anyway and count each failed send, so the
        // probe captures meanwhile and exports once the route appears.
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        opts.onError?.(`collector ${label} is unreachable now (${code}); sending anyway, failures are counted`);
        sock.close();
        peerSock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
        peerSock.on('error', (err) => t.fail(label, err));
        dest = { port: c.port, addr };
      }
      if (opts.hopLimit !== undefined) {
        try {
          peerSock.setMulticastTTL(opts.hopLimit);
        } catch {
          // Only meaningful for multicast destinations; unicast sockets may refuse it.
        }
      }
      t.peers.push({ label, sock: peerSock, dest });
      t.collectors.push(label);
    }
    return t;
  }

  /** The collectors as "addr:port" (kept after close, for summaries). */
  readonly collectors: string[] = [];

  /** Datagrams waiting to be sent. */
  get pending(): number {
    return this.queue.length - this.head + this.inflight;
  }

  /** Queues a copy of the datagram (the caller reuses its buffer). */
  send(datagram: Uint8Array): void {
    if (this.closed || this.peers.length === 0) return;
    this.queue.push(Buffer.from(datagram));
    this.pump();
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
    await Promise.all(this.peers.map((p) => new Promise<void>((r) => p.sock.close(() => r()))));
    this.peers = [];
  }

  private burst(): number {
    return this.rate > 0 ? Math.max(8, Math.ceil(this.rate / 1000)) : Infinity;
  }

  private fail(label: string, e: Error): void {
    this.stats.failures++;
    const msg = `export to ${label} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`;
    if (msg !== this.stats.lastError) this.opts.onError?.(msg);
    this.stats.lastError = msg;
  }

  private pump(): void {
    if (this.timer) return;
    if (this.rate > 0) {
      const now = performance.now();
      this.tokens = Math.min(this.burst(), this.tokens + ((now - this.lastRefill) * this.rate) / 1000);
      this.lastRefill = now;
    }
    while (this.head < this.queue.length && this.tokens >= 1) {
      const d = this.queue[this.head++]!;
      this.tokens -= 1;
      this.transmit(d);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.settle();
    } else {
      // Wait for tokens: 1 ms is the timer's resolution, and refills per ms are several datagrams.
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, 1);
    }
  }

  private transmit(d: Buffer): void {
    const targets = this.opts.loadBalance ? [this.peers[this.rr++ % this.peers.length]!] : this.peers;
    let ok = false;
    for (const p of targets) {
      this.inflight++;
      const done = (err: Error | null): void => {
        this.inflight--;
        if (err) this.fail(p.label, err);
        this.settle();
      };
      if (p.dest) p.sock.send(d, p.dest.port, p.dest.addr, done);
      else p.sock.send(d, done);
      ok = true;
    }
    if (ok) this.stats.datagrams++;
  }

  private settle(): void {
    if (this.pending === 0 && this.waiters.length) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }
}
