/**
 * The receiver's session table: each datagram is checked against --accept-from, given to the session of its
 * exporter (address, port unless --ignore-port, version, v9 source ID / IPFIX observation domain / v5 engine), and
 * the table stays within its bounds by evicting the session heard from least recently. No sockets here: the CLI
 * feeds datagrams in, so tests can too.
 */
import { formatAddr, parseAddr, withPort } from '../decode/address.js';
import { u16, u32 } from '../decode/bytes.js';
import { ExporterCounters, Session, SharedBudget, type SessionConfig, type SessionSink } from './session.js';

export interface CollectorConfig extends SessionConfig {
  /** Key sessions by address without the UDP source port (nfcapd's keying). */
  ignorePort: boolean;
  /** Accept datagrams only from these networks (empty: from anyone). */
  acceptFrom: Cidr[];
  /** Sessions kept at once; the least recently heard is evicted beyond it. */
  maxSessions: number;
  /** Template fields and held data bytes of all sessions together. */
  maxTemplateFields: number;
  maxPendingBytes: number;
}

export const DEFAULTS = {
  sampling: 1,
  maxFutureMs: 3600_000,
  maxTemplates: 512,
  maxPendingSets: 1024,
  maxPendingAgeMs: 300_000,
  maxSessions: 4096,
  maxTemplateFields: 500_000,
  maxPendingBytes: 64 * 1024 * 1024,
} as const;

export interface Cidr {
  version: 4 | 6;
  words: Uint32Array;
  mask: Uint32Array;
  text: string;
}

/** "192.0.2.0/24", "2001:db8::/32" or a bare address; throws with a one-line reason. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const a = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (a === null) throw new Error(`--accept-from ${text}: not an IPv4 or IPv6 address or network`);
  const max = a.version === 4 ? 32 : 128;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new Error(`--accept-from ${text}: prefix length must be 0..${max}`);
  const mask = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const b = Math.max(0, Math.min(32, bits - 32 * k));
    mask[k] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  const words = new Uint32Array(4);
  for (let k = 0; k < 4; k++) words[k] = (a.words[k] & mask[k]) >>> 0;
  return { version: a.version, words, mask, text };
}

function inCidr(c: Cidr, version: number, w: Uint32Array): boolean {
  if (c.version !== version) return false;
  for (let k = 0; k < 4; k++) if (((w[k] & c.mask[k]) >>> 0) !== c.words[k]) return false;
  return true;
}

/** A source address as the socket gives it; IPv4-mapped IPv6 (::ffff:a.b.c.d, dual-stack sockets) as IPv4. */
export function sourceAddress(text: string): { words: Uint32Array; version: 4 | 6; text: string } | null {
  const t = text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  const a = parseAddr(t.split('%')[0]);
  return a === null ? null : { words: a.words, version: a.version, text: t };
}

export interface CollectorCounters {
  datagrams: number;
  /** Dropped by --accept-from. */
  rejected: number;
  /** Not NetFlow v1/v5/v9 or IPFIX (or too short to say). */
  unknownVersion: number;
  /** Larger than the receive slot: cut short by the socket, so dropped unread. */
  truncated: number;
  sessionsEvicted: number;
}

export class Collector {
  readonly counters: CollectorCounters = { datagrams: 0, rejected: 0, unknownVersion: 0, truncated: 0, sessionsEvicted: 0 };
  readonly budget: SharedBudget;
  /** Sessions, least recently heard first (each datagram moves its session to the end). */
  private readonly sessions = new Map<string, Session>();
  /** Sessions evicted: their counters are folded into this, so totals stay right. */
  readonly evictedTotals = new ExporterCounters();
  private readonly saidFrom = new Set<string>();
  /**
   * The previous datagram's source and session: while they repeat, the session is already the most recently heard
   * and needs no lookup (it cannot have been evicted, being the newest).
   */
  private lastAddress: string | null = null;
  /** The same for receiveFrom's numeric sources (family 0: none yet, or the last came as text). */
  private lastFamily = 0;
  private lastW0 = 0;
  private lastW1 = 0;
  private lastW2 = 0;
  private lastW3 = 0;
  private lastSrc: ReturnType<typeof sourceAddress> = null;
  private lastAccepted = false;
  private lastSession: Session | null = null;
  private lastPort = -1;
  private lastDomain = -1;

  constructor(
    readonly cfg: CollectorConfig,
    private readonly out: SessionSink,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.budget = new SharedBudget(cfg.maxTemplateFields, cfg.maxPendingBytes);
  }

  /** A datagram from a source given as text (Node's sockets; tests). */
  receive(buf: Uint8Array, address: string, port: number, nowMs: number): void {
    this.counters.datagrams++;
    // An exporter sends many datagrams in a row: its parsed address and --accept-from verdict are kept.
    if (address !== this.lastAddress) {
      this.lastFamily = 0;
      this.lastAddress = address;
      this.setSource(sourceAddress(address));
    }
    this.deliver(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), buf.byteLength, port, nowMs);
  }

  /**
   * A datagram from a source given as numbers (family 4 or 6, four big-endian words, IPv4 in the first), as the
   * batch receiver reads them: nothing is made per datagram while the source repeats.
   */
  receiveFrom(buf: Uint8Array, family: number, w0: number, w1: number, w2: number, w3: number, port: number, nowMs: number): void {
    this.receiveAt(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), buf.byteLength, family, w0, w1, w2, w3, port, nowMs);
  }

  /**
   * {@link receiveFrom} for the first `length` bytes of `buf` (viewed by `dv` from the same byte): a receive slot
   * and its views, made once, so nothing at all is made per datagram.
   */
  receiveAt(
    buf: Uint8Array, dv: DataView, length: number, family: number, w0: number, w1: number, w2: number, w3: number, port: number, nowMs: number,
  ): void {
    this.counters.datagrams++;
    if (family !== this.lastFamily || w0 !== this.lastW0 || w1 !== this.lastW1 || w2 !== this.lastW2 || w3 !== this.lastW3) {
      this.newSourceFrom(family, w0, w1, w2, w3);
    }
    this.deliver(buf, dv, length, port, nowMs);
  }

  /** A datagram larger than the receiver's slot: cut short by the socket, so counted and never read. */
  truncated(family: number, w0: number, w1: number, w2: number, w3: number, port: number, length: number, kept: number): void {
    if (family !== this.lastFamily || w0 !== this.lastW0 || w1 !== this.lastW1 || w2 !== this.lastW2 || w3 !== this.lastW3) {
      this.newSourceFrom(family, w0, w1, w2, w3);
    }
    this.counters.datagrams++;
    // From a source --accept-from refuses, it is refused like the rest of what that source sends.
    const src = this.lastSrc;
    if (src === null || this.refused(src)) return;
    this.counters.truncated++;
    this.sayOnce(`truncated ${src.text}`, `${withPort(src.text, port, src.version)}: datagram of ${length} bytes ` +
      `is larger than the ${kept}-byte receive slot; such datagrams are dropped and counted`);
  }

  private newSourceFrom(family: number, w0: number, w1: number, w2: number, w3: number): void {
    this.lastFamily = family;
    this.lastW0 = w0;
    this.lastW1 = w1;
    this.lastW2 = w2;
    this.lastW3 = w3;
    this.lastAddress = null;
    const words = Uint32Array.of(w0, w1, w2, w3);
    this.setSource(family === 4 || family === 6 ? { words, version: family, text: formatAddr(words, family) } : null);
  }

  private setSource(src: ReturnType<typeof sourceAddress>): void {
    this.lastSrc = src;
    this.lastAccepted =
      src !== null && (this.cfg.acceptFrom.length === 0 || this.cfg.acceptFrom.some((c) => inCidr(c, src.version, src.words)));
    this.lastSession = null;
  }

  private deliver(buf: Uint8Array, dv: DataView, n: number, port: number, nowMs: number): void {
    const src = this.lastSrc;
    if (src === null || this.refused(src)) return;
    const version = n >= 2 ? u16(buf, 0) : -1;
    if (version !== 1 && version !== 5 && version !== 9 && version !== 10) {
      this.counters.unknownVersion++;
      this.sayOnce(`version ${src.text}`, `${src.text}:${port}: datagram of ${n} bytes is not NetFlow v1/v5/v9 ` +
        `or IPFIX (version field ${version < 0 ? 'missing' : version}); such datagrams are counted`);
      return;
    }
    // The domain: v9 source ID (RFC 3954 §5.1), IPFIX observation domain (RFC 7011 §3.1), v5 engine type/ID.
    let domain = 0;
    if (version === 9 && n >= 20) domain = u32(buf, 16);
    else if (version === 10 && n >= 16) domain = u32(buf, 12);
    else if (version === 5 && n >= 22) domain = u16(buf, 20);
    let s = this.lastSession;
    if (s === null || port !== this.lastPort || version !== s.version || domain !== this.lastDomain) {
      s = this.session(src, port, version, domain);
      // (With no room for even one session, the new one is evicted at once and must not be kept here.)
      this.lastSession = this.cfg.maxSessions > 0 ? s : null;
      this.lastPort = port;
      this.lastDomain = domain;
    }
    s.processAt(buf, dv, n, nowMs);
  }

  /** Counts and says (once) a datagram from a source --accept-from does not cover. */
  private refused(src: { text: string }): boolean {
    if (this.lastAccepted) return false;
    this.counters.rejected++;
    this.sayOnce(`reject ${src.text}`, `datagrams from ${src.text} dropped: not in --accept-from (counted)`);
    return true;
  }

  /** The session of an exporter, made if new, and moved to the most recently heard end. */
  private session(src: { words: Uint32Array; version: 4 | 6; text: string }, port: number, version: number, domain: number): Session {
    const portPart = this.cfg.ignorePort ? '' : `:${port}`;
    const key = `${src.text}${portPart} ${version} ${domain}`;
    let s = this.sessions.get(key);
    if (s === undefined) {
      const label = version === 5 || version === 1 ? 'engine' : version === 9 ? 'source id' : 'domain';
      const name = `${src.version === 6 ? `[${src.text}]` : src.text}${portPart} ${version === 10 ? 'IPFIX' : `v${version}`} ${label} ${domain}`;
      s = new Session(name, version, src, this.cfg, this.budget, this.out, this.log);
      this.sessions.set(key, s);
      this.log(`new exporter ${name}`);
      if (this.sessions.size > this.cfg.maxSessions) this.evictOldest();
    } else {
      this.sessions.delete(key);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Expires held data in every session; call about once a second. */
  sweep(nowMs: number): void {
    for (const s of this.sessions.values()) s.expire(nowMs);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  private evictOldest(): void {
    const [key, s] = this.sessions.entries().next().value as [string, Session];
    this.sessions.delete(key);
    s.dispose();
    addCounters(this.evictedTotals, s.counters);
    this.counters.sessionsEvicted++;
    this.sayOnce('evict', `more than ${this.cfg.maxSessions} exporters; evicting the one heard from least recently (${s.name}); counted`);
  }

  private sayOnce(kind: string, line: string): void {
    // Bounded: a flood from many sources logs its first few and is then only counted.
    if (this.saidFrom.has(kind) || this.saidFrom.size >= 64) return;
    this.saidFrom.add(kind);
    this.log(line);
  }
}

/** a += b for the numeric counters. */
export function addCounters(a: ExporterCounters, b: ExporterCounters): void {
  for (const k of Object.keys(b) as (keyof ExporterCounters)[]) {
    const v = b[k];
    if (typeof v === 'number') (a as unknown as Record<string, number>)[k] += v;
  }
  for (const [name, n] of b.errors) a.errors.set(name, (a.errors.get(name) ?? 0) + n);
}

/** One line of an exporter's counters, for the periodic and final reports. */
export function countersLine(name: string, c: ExporterCounters, templates?: number): string {
  const errs = [...c.errors].map(([k, v]) => `${k}=${v}`).join(' ');
  return (
    `${name}: packets ${c.packets}, flows ${c.flows}, sequence errors ${c.sequenceErrors} (missing ${c.sequenceLost}` +
    `${c.inclusiveSequence ? ', inclusive numbering tolerated' : ''}), malformed ${c.malformed}${errs ? ` (${errs})` : ''}, ` +
    `templates ${templates ?? c.templates} (redefined ${c.templatesRedefined}, withdrawn ${c.templatesWithdrawn}, ` +
    `evicted ${c.templatesEvicted}), before template ${c.unknownTemplateSets} (replayed ${c.replayedSets}, ` +
    `expired ${c.expiredSets}, dropped ${c.droppedSets}), sampling ${c.announcedSampling || 'none announced'}, ` +
    `impossible times ${c.futureTimes + c.endBeforeStart} (future ${c.futureTimes}, end<start ${c.endBeforeStart}), ` +
    `unplaced times ${c.unresolvedTimes}, sets without a whole record ${c.emptySets}`
  );
}
