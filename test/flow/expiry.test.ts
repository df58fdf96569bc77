import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUTS,
  END_REASON,
  ExpiryRule,
  OVERBYTES_LIMIT,
  Reason,
  REASON_NAMES,
  parseTime,
  parseTimeoutOption,
  type Timeouts,
} from '../../src/flow/expiry.js';
import { FIN, ICMP, ICMPV6, RST, TCP, UDP, GRE } from './helpers.js';

const S = 1_000_000; // flow start second
function rule(t: Partial<Timeouts> = {}): ExpiryRule {
  return new ExpiryRule({ ...DEFAULT_TIMEOUTS, ...t });
}
/** compute() for a flow that started at S and last saw a packet at S + age. */
function at(r: ExpiryRule, proto: number, opts: { v?: number; f0?: number; f1?: number; o0?: number; o1?: number; age?: number } = {}) {
  const when = r.compute(proto, opts.v ?? 4, opts.f0 ?? 0, opts.f1 ?? 0, opts.o0 ?? 100, opts.o1 ?? 0, S, S + (opts.age ?? 0));
  return { at: when, reason: REASON_NAMES[r.reason] };
}

describe('softflowd expiry rule', () => {
  it('gives each protocol its own idle timeout from the last packet', () => {
    const r = rule();
    expect(at(r, TCP, { age: 10 })).toEqual({ at: S + 10 + 3600, reason: 'tcp' });
    expect(at(r, UDP, { age: 10 })).toEqual({ at: S + 10 + 300, reason: 'udp' });
    expect(at(r, ICMP, { age: 10 })).toEqual({ at: S + 10 + 300, reason: 'icmp' });
    expect(at(r, GRE, { age: 10 })).toEqual({ at: S + 10 + 3600, reason: 'general' });
  });

  it('takes ICMP as protocol 1 over IPv4 and 58 over IPv6 only', () => {
    const r = rule({ icmp: 30 });
    expect(at(r, ICMP, { v: 4 }).reason).toBe('icmp');
    expect(at(r, ICMPV6, { v: 6 }).reason).toBe('icmp');
    expect(at(r, ICMP, { v: 6 }).reason).toBe('general');
    expect(at(r, ICMPV6, { v: 4 }).reason).toBe('general');
  });

  it('uses tcp.rst after a RST from either half, ahead of FIN', () => {
    const r = rule();
    expect(at(r, TCP, { f0: RST })).toEqual({ at: S + 120, reason: 'tcp.rst' });
    expect(at(r, TCP, { f1: RST | FIN, f0: FIN })).toEqual({ at: S + 120, reason: 'tcp.rst' });
  });

  it('uses tcp.fin only once both halves sent FIN', () => {
    const r = rule();
    expect(at(r, TCP, { f0: FIN }).reason).toBe('tcp');
    expect(at(r, TCP, { f1: FIN }).reason).toBe('tcp');
    expect(at(r, TCP, { f0: FIN, f1: FIN })).toEqual({ at: S + 300, reason: 'tcp.fin' });
  });

  it('lets a zero timeout fall through to the next rule, ending at general', () => {
    expect(at(rule({ tcpRst: 0 }), TCP, { f0: RST, f1: FIN | RST })).toEqual({ at: S + 3600, reason: 'tcp' });
    expect(at(rule({ tcpRst: 0, tcpFin: 0 }), TCP, { f0: FIN | RST, f1: FIN })).toEqual({ at: S + 3600, reason: 'tcp' });
    expect(at(rule({ tcp: 0, general: 77 }), TCP)).toEqual({ at: S + 77, reason: 'general' });
    expect(at(rule({ udp: 0, general: 77 }), UDP)).toEqual({ at: S + 77, reason: 'general' });
    expect(at(rule({ icmp: 0, general: 77 }), ICMP)).toEqual({ at: S + 77, reason: 'general' });
  });

  it('expires at once (second 0) above 2 GiB in one direction, before every other rule', () => {
    const r = rule({ maxlife: 10 });
    // Exactly 2^31 is not over (softflowd: octets > 1U << 31).
    expect(at(rule(), TCP, { o0: OVERBYTES_LIMIT, f0: RST })).toEqual({ at: S + 120, reason: 'tcp.rst' });
    expect(at(r, TCP, { o0: OVERBYTES_LIMIT + 1, f0: RST, age: 50 })).toEqual({ at: 0, reason: 'over 2 GiB' });
    expect(at(r, UDP, { o1: OVERBYTES_LIMIT + 1 })).toEqual({ at: 0, reason: 'over 2 GiB' });
  });

  it('expires at once past maxlife, and maxlife=0 means unlimited', () => {
    expect(at(rule({ maxlife: 100 }), UDP, { age: 101 })).toEqual({ at: 0, reason: 'maxlife' });
    expect(at(rule({ maxlife: 0 }), UDP, { age: 10_000_000 })).toEqual({ at: S + 10_000_300, reason: 'udp' });
  });

  it('clamps every expiry to start + maxlife and then reports maxlife', () => {
    // A busy UDP flow 250 s old with maxlife 400: idle expiry would be 550 s after start.
    expect(at(rule({ maxlife: 400 }), UDP, { age: 250 })).toEqual({ at: S + 400, reason: 'maxlife' });
    // Exactly at the clamp: softflowd's rule 2 needs last - start > maxlife, so this is still the clamp.
    expect(at(rule({ maxlife: 400 }), UDP, { age: 400 })).toEqual({ at: S + 400, reason: 'maxlife' });
    // The idle time comes first: no clamp.
    expect(at(rule({ maxlife: 400 }), UDP, { age: 50 })).toEqual({ at: S + 350, reason: 'udp' });
  });

  it('maps reasons to IPFIX flowEndReason: idle 1, active 2, end of flow 3, forced 4, lack of resources 5', () => {
    expect(END_REASON[Reason.UDP]).toBe(1);
    expect(END_REASON[Reason.GENERAL]).toBe(1);
    expect(END_REASON[Reason.MAXLIFE]).toBe(2);
    expect(END_REASON[Reason.TCP_RST]).toBe(3);
    expect(END_REASON[Reason.TCP_FIN]).toBe(3);
    expect(END_REASON[Reason.FLUSHED]).toBe(4);
    expect(END_REASON[Reason.OVERBYTES]).toBe(5);
    expect(END_REASON[Reason.MAXFLOWS]).toBe(5);
  });

  it('refuses a general timeout of 0', () => {
    expect(() => rule({ general: 0 })).toThrow(/"general" flow timeout must be greater than zero/);
  });
});

describe('-t name=time parsing', () => {
  it('reads softflowd time syntax: units s m h d w, case-insensitive, parts added', () => {
    expect(parseTime('90')).toBe(90);
    expect(parseTime('45s')).toBe(45);
    expect(parseTime('5m')).toBe(300);
    expect(parseTime('1h30m')).toBe(5400);
    expect(parseTime('1H30M')).toBe(5400);
    expect(parseTime('1h30')).toBe(3630);
    expect(parseTime('2d')).toBe(172800);
    expect(parseTime('1W')).toBe(604800);
    expect(parseTime('0')).toBe(0);
  });

  it('rejects what convtime rejects', () => {
    for (const bad of ['', 'abc', '5x', '-5', '1.5h', 'h', '1 h', '+5']) {
      expect(() => parseTime(bad), bad).toThrow(/invalid time/);
    }
    expect(() => parseTime('9999999999')).toThrow(/more than/);
  });

  it('sets the named timeout and leaves the others', () => {
    const t: Timeouts = { ...DEFAULT_TIMEOUTS };
    parseTimeoutOption('tcp.rst=2m', t);
    parseTimeoutOption('maxlife=0', t);
    parseTimeoutOption('udp=1h', t);
    parseTimeoutOption('expint=1', t);
    expect(t).toEqual({ ...DEFAULT_TIMEOUTS, tcpRst: 120, maxlife: 0, udp: 3600, expint: 1 });
  });

  it('names the problem: unknown name, missing =, general=0, bad time', () => {
    const t: Timeouts = { ...DEFAULT_TIMEOUTS };
    expect(() => parseTimeoutOption('tcp.syn=5', t)).toThrow(
      'unknown timeout "tcp.syn": expected one of tcp, tcp.rst, tcp.fin, udp, icmp, general, maxlife, expint',
    );
    expect(() => parseTimeoutOption('toString=5', t)).toThrow(/unknown timeout "toString"/);
    expect(() => parseTimeoutOption('udp', t)).toThrow(/expected name=time/);
    expect(() => parseTimeoutOption('general=0', t)).toThrow('"general" flow timeout must be greater than zero');
    expect(() => parseTimeoutOption('udp=soon', t)).toThrow(/invalid time "soon"/);
    expect(t).toEqual(DEFAULT_TIMEOUTS);
  });
});
