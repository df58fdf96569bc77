import { describe, expect, it } from 'vitest';
import { Collector, DEFAULTS, parseCidr, sourceAddress, type CollectorConfig } from '../../src/collect/collector.js';
import { IpfixEncoder } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { V9Encoder } from '../../src/wire/v9.js';
import { flow } from './messages.js';

const NOW = 1_800_000_000_000;

function mk(over: Partial<CollectorConfig> = {}) {
  const flows: FlowRecord[] = [];
  const logs: string[] = [];
  const keep = (r: FlowRecord): void => {
    const c = new FlowRecord();
    c.copyFrom(r);
    flows.push(c);
  };
  const cfg: CollectorConfig = { ...DEFAULTS, stampExporter: true, ignorePort: false, acceptFrom: [], ...over };
  return { c: new Collector(cfg, { onFlow: keep, onSuspect: keep }, (l) => logs.push(l)), flows, logs };
}

function message(domain = 0, n = 1): Uint8Array {
  const enc = new IpfixEncoder({ domainId: domain });
  enc.beginMessage(NOW, NOW - 1000);
  enc.addTemplates();
  for (let i = 0; i < n; i++) enc.addRecord(flow(i, NOW - 5000));
  return enc.finish().slice();
}

describe('the collector', () => {
  it('keeps one session per exporter address, port, version and domain; --ignore-port drops the port', () => {
    const a = mk();
    a.c.receive(message(0), '192.0.2.1', 1000, NOW);
    a.c.receive(message(0), '192.0.2.1', 1001, NOW);
    a.c.receive(message(7), '192.0.2.1', 1000, NOW);
    a.c.receive(message(0), '192.0.2.2', 1000, NOW);
    expect(a.c.list().map((s) => s.name)).toEqual([
      '192.0.2.1:1000 IPFIX domain 0',
      '192.0.2.1:1001 IPFIX domain 0',
      '192.0.2.1:1000 IPFIX domain 7',
      '192.0.2.2:1000 IPFIX domain 0',
    ]);
    const b = mk({ ignorePort: true });
    b.c.receive(message(0), '192.0.2.1', 1000, NOW);
    b.c.receive(message(0), '192.0.2.1', 1001, NOW);
    const v9 = new V9Encoder();
    v9.beginMessage(NOW, NOW - 1000);
    v9.addTemplates();
    v9.addRecord(flow(1, NOW - 5000));
    b.c.receive(v9.finish(), '192.0.2.1', 1002, NOW);
    expect(b.c.list().map((s) => s.name)).toEqual(['192.0.2.1 IPFIX domain 0', '192.0.2.1 v9 source id 0']);
    expect(b.flows).toHaveLength(3);
  });

  it('drops and counts datagrams from outside --accept-from, IPv4-mapped sources read as IPv4', () => {
    const { c, flows, logs } = mk({ acceptFrom: [parseCidr('192.0.2.0/24'), parseCidr('2001:db8::/32')] });
    c.receive(message(), '192.0.2.77', 1, NOW);
    c.receive(message(), '::ffff:192.0.2.78', 1, NOW);
    c.receive(message(), '2001:db8::5', 1, NOW);
    c.receive(message(), '198.51.100.1', 1, NOW);
    c.receive(message(), '2001:db9::1', 1, NOW);
    expect(flows).toHaveLength(3);
    expect(c.counters.rejected).toBe(2);
    expect(flows[1].exporter[0]).toBe(0xc000024e);
    expect(logs).toContain('datagrams from 198.51.100.1 dropped: not in --accept-from (counted)');
  });

  it('counts datagrams that are not NetFlow or IPFIX, and logs only the first from each source', () => {
    const { c, logs } = mk();
    for (let i = 0; i < 5; i++) c.receive(Uint8Array.of(0, 42, 1, 2, 3), '192.0.2.1', 9, NOW);
    c.receive(new Uint8Array(0), '192.0.2.1', 9, NOW);
    expect(c.counters.unknownVersion).toBe(6);
    expect(logs.filter((l) => /not NetFlow/.test(l))).toHaveLength(1);
    expect(c.list()).toHaveLength(0);
  });

  it('bounds the session table: the exporter heard from least recently goes, its counters kept in the totals', () => {
    const { c } = mk({ maxSessions: 3 });
    for (let i = 1; i <= 3; i++) c.receive(message(0, 2), `192.0.2.${i}`, 1, NOW);
    c.receive(message(0, 1), '192.0.2.1', 1, NOW); // .1 heard again: .2 is now the oldest
    c.receive(message(0, 5), '192.0.2.4', 1, NOW);
    expect(c.list().map((s) => s.name.split(':')[0]).sort()).toEqual(['192.0.2.1', '192.0.2.3', '192.0.2.4']);
    expect(c.counters.sessionsEvicted).toBe(1);
    expect(c.evictedTotals.flows).toBe(2);
    // The evicted session's templates left the shared budget with it.
    const one = mk();
    one.c.receive(message(0, 1), '192.0.2.9', 1, NOW);
    expect(one.c.budget.templateFields).toBeGreaterThan(0);
    expect(c.budget.templateFields).toBe(3 * one.c.budget.templateFields);
  });

  it('parses --accept-from and says what is wrong with a bad one', () => {
    expect(parseCidr('10.1.2.3/8').words[0]).toBe(0x0a000000);
    expect(parseCidr('::1').mask[3]).toBe(0xffffffff);
    expect(() => parseCidr('10.0.0.0/33')).toThrow('--accept-from 10.0.0.0/33: prefix length must be 0..32');
    expect(() => parseCidr('example.com')).toThrow('not an IPv4 or IPv6 address');
    expect(sourceAddress('::ffff:10.0.0.1')).toMatchObject({ version: 4, text: '10.0.0.1' });
  });
});
