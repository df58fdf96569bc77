/**
 * softflowd's expiry rule (flow_update_expiry), its timeouts and the `-t name=time` option.
 *
 * The rule is evaluated on every packet of a flow, in softflowd's priority order: over 2 GiB in one direction,
 * maxlife, TCP RST from either side, TCP FIN from both sides, tcp, udp, icmp, general; a timeout of 0 disables
 * its rule so the flow falls through to the next one. The result is clamped to start + maxlife. All times are
 * whole seconds, as in softflowd, so a flow whose expiry second is S is removed by the first scan at S+1 or later.
 */

/** Why a flow left the table. The order is the one softflowd's `statistics` prints. */
export const enum Reason {
  TCP = 0,
  TCP_RST = 1,
  TCP_FIN = 2,
  UDP = 3,
  ICMP = 4,
  GENERAL = 5,
  MAXLIFE = 6,
  OVERBYTES = 7,
  MAXFLOWS = 8,
  FLUSHED = 9,
}
export const REASON_COUNT = 10;
/** The labels softflowd's `statistics` uses for each Reason, by index. */
export const REASON_NAMES: readonly string[] = [
  'tcp',
  'tcp.rst',
  'tcp.fin',
  'udp',
  'icmp',
  'general',
  'maxlife',
  'over 2 GiB',
  'maxflows',
  'flushed',
];

/**
 * IPFIX flowEndReason (RFC 7012 IE 136) for each Reason. softflowd's values for the timeouts: idle 1, endOfFlow 3
 * for RST/FIN, activeTimeout 2 for maxlife, lackOfResources 5 for over 2 GiB. Where softflowd keeps whatever idle
 * reason was pending we use the IE's own definitions instead: a flush (expire-all, shutdown, end of input) is
 * forcedEnd 4 ("some external event"), and a maxflows eviction is lackOfResources 5 (the table is the resource
 * that ran out).
 */
export const END_REASON: Readonly<Uint8Array> = Uint8Array.of(1, 3, 3, 1, 1, 1, 2, 5, 5, 4);

export interface Timeouts {
  /** Open TCP connections. */
  tcp: number;
  /** TCP after a RST from either side. */
  tcpRst: number;
  /** TCP after a FIN from both sides. */
  tcpFin: number;
  udp: number;
  /** ICMP over IPv4 and ICMPv6 over IPv6. */
  icmp: number;
  /** Everything else; never 0. */
  general: number;
  /** Active timeout from the flow's first packet; 0 = unlimited. */
  maxlife: number;
  /** Interval between expiry scans; the table does not use it, the caller's scan loop does. */
  expint: number;
}

/** softflowd's defaults (softflowd.h, `softflowd -h`). */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  tcp: 3600,
  tcpRst: 120,
  tcpFin: 300,
  udp: 300,
  icmp: 300,
  general: 3600,
  maxlife: 604800,
  expint: 60,
});

/** `-t` names as softflowd spells them, in the order its usage text lists them. */
export const TIMEOUT_NAMES: Readonly<Record<string, keyof Timeouts>> = Object.freeze({
  tcp: 'tcp',
  'tcp.rst': 'tcpRst',
  'tcp.fin': 'tcpFin',
  udp: 'udp',
  icmp: 'icmp',
  general: 'general',
  maxlife: 'maxlife',
  expint: 'expint',
});

// softflowd keeps timeouts in a C int.
const MAX_TIME = 0x7fffffff;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * softflowd's time syntax (convtime): one or more `<digits>[s|m|h|d|w]` parts, case-insensitive, added together;
 * a part without a unit is seconds (`1h30m` = 5400, `1h30` = 3630). Throws on anything else.
 */
export function parseTime(text: string): number {
  if (!/^(\d+[smhdw]?)+$/i.test(text)) {
    throw new Error(`invalid time "${text}": expected digits with optional s, m, h, d or w units, e.g. 90, 5m or 1h30m`);
  }
  let total = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([smhdw]?)/gi)) {
    total += Number(digits) * (unit === '' ? 1 : UNIT_SECONDS[unit.toLowerCase()]);
    if (total > MAX_TIME) throw new Error(`invalid time "${text}": more than ${MAX_TIME} seconds`);
  }
  return total;
}

/** Applies one `-t name=time` option to `into`. Throws with a one-line message naming what was wrong. */
export function parseTimeoutOption(spec: string, into: Timeouts): void {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`invalid timeout "${spec}": expected name=time, e.g. udp=5m`);
  const name = spec.slice(0, eq);
  const field = Object.hasOwn(TIMEOUT_NAMES, name) ? TIMEOUT_NAMES[name] : undefined;
  if (field === undefined) {
    throw new Error(`unknown timeout "${name}": expected one of ${Object.keys(TIMEOUT_NAMES).join(', ')}`);
  }
  const seconds = parseTime(spec.slice(eq + 1));
  if (field === 'general' && seconds === 0) throw new Error('"general" flow timeout must be greater than zero');
  into[field] = seconds;
}

/** Checks a whole Timeouts object (the table's constructor calls it); throws on the first bad value. */
export function checkTimeouts(t: Timeouts): void {
  for (const [name, field] of Object.entries(TIMEOUT_NAMES)) {
    const value = t[field];
    if (!Number.isInteger(value) || value < 0 || value > MAX_TIME) {
      throw new Error(`timeout ${name}=${value}: must be a whole number of seconds from 0 to ${MAX_TIME}`);
    }
  }
  if (t.general === 0) throw new Error('"general" flow timeout must be greater than zero');
}

/** softflowd's over-2-GiB limit: a direction with more octets than this is exported at once (`> 1U << 31`). */
export const OVERBYTES_LIMIT = 2 ** 31;

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;
/** RFC 9293 §3.1 control bits. */
const TH_FIN = 0x01;
const TH_RST = 0x04;

/**
 * The rule, with the timeouts copied into fields so the per-packet call reads no object graph. `compute` returns
 * the expiry second (0 = at the next scan) and leaves the reason in `reason`, so it allocates nothing.
 */
export class ExpiryRule {
  /** The reason behind the last `compute` result. */
  reason: Reason = Reason.GENERAL;
  private readonly tcp: number;
  private readonly tcpRst: number;
  private readonly tcpFin: number;
  private readonly udp: number;
  private readonly icmp: number;
  private readonly general: number;
  private readonly maxlife: number;

  constructor(t: Timeouts) {
    checkTimeouts(t);
    this.tcp = t.tcp;
    this.tcpRst = t.tcpRst;
    this.tcpFin = t.tcpFin;
    this.udp = t.udp;
    this.icmp = t.icmp;
    this.general = t.general;
    this.maxlife = t.maxlife;
  }

  /**
   * `flags0`/`flags1` and `octets0`/`octets1` are the two halves' TCP flags and octets; `startSec`/`lastSec` the
   * flow's first and latest packet second.
   */
  compute(
    protocol: number,
    ipVersion: number,
    flags0: number,
    flags1: number,
    octets0: number,
    octets1: number,
    startSec: number,
    lastSec: number,
  ): number {
    if (octets0 > OVERBYTES_LIMIT || octets1 > OVERBYTES_LIMIT) {
      this.reason = Reason.OVERBYTES;
      return 0;
    }
    const maxlife = this.maxlife;
    if (maxlife !== 0 && lastSec - startSec > maxlife) {
      this.reason = Reason.MAXLIFE;
      return 0;
    }
    let at: number;
    let reason: Reason;
    if (protocol === PROTO_TCP && this.tcpRst !== 0 && ((flags0 | flags1) & TH_RST) !== 0) {
      at = lastSec + this.tcpRst;
      reason = Reason.TCP_RST;
    } else if (protocol === PROTO_TCP && this.tcpFin !== 0 && (flags0 & flags1 & TH_FIN) !== 0) {
      at = lastSec + this.tcpFin;
      reason = Reason.TCP_FIN;
    } else if (protocol === PROTO_TCP && this.tcp !== 0) {
      at = lastSec + this.tcp;
      reason = Reason.TCP;
    } else if (protocol === PROTO_UDP && this.udp !== 0) {
      at = lastSec + this.udp;
      reason = Reason.UDP;
    } else if (
      this.icmp !== 0 &&
      ((ipVersion === 4 && protocol === PROTO_ICMP) || (ipVersion === 6 && protocol === PROTO_ICMPV6))
    ) {
      at = lastSec + this.icmp;
      reason = Reason.ICMP;
    } else {
      at = lastSec + this.general;
      reason = Reason.GENERAL;
    }
    // The clamp is how busy flows hit their active timeout. softflowd keeps the idle reason here and reports
    // flowEndReason idle (its bug list, §6.1 #12); when the clamp is what decides the time, the flow ends
    // because of its lifetime, so we say maxlife / activeTimeout.
    if (maxlife !== 0 && startSec + maxlife < at) {
      at = startSec + maxlife;
      reason = Reason.MAXLIFE;
    }
    this.reason = reason;
    return at;
  }
}
