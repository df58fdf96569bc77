import { describe, expect, it } from 'vitest';
import { FlowTable, type FlowTableOptions } from '../../src/flow/table.js';
import { ACK, Collect, FIN, GRE, ICMP, RST, SYN, T0, TCP, UDP, pkt, type PacketSpec } from './helpers.js';

function setup(options: FlowTableOptions = {}) {
  const sink = new Collect();
  const table = new FlowTable(sink, { hashSeed: 1, ...options });
  const send = (...specs: PacketSpec[]) => specs.forEach((s) => table.update(pkt(s)));
  return { sink, table, send };
}

const A = '10.0.0.1';
const B = '10.0.0.2';
const out = (t: number, flags: number) => ({ src: A, dst: B, sport: 40000, dport: 80, proto: TCP, flags, t });
const back = (t: number, flags: number) => ({ src: B, dst: A, sport: 80, dport: 40000, proto: TCP, flags, t });

/** Scans at every second in [from, to] and returns the first second at which something expired. */
function firstExpiry(table: FlowTable, from: number, to: number): number {
  for (let s = from; s <= to; s++) if (table.scan(s) > 0) return s;
  return -1;
}

describe('expiry through the table', () => {
  it('expires a connection closed by FIN from both sides tcp.fin (300 s) after its last packet', () => {
    const { sink, table, send } = setup();
    send(out(T0, SYN), back(T0 + 0.1, SYN | ACK), out(T0 + 0.2, ACK), out(T0 + 5, FIN | ACK), back(T0 + 5.5, FIN | ACK));
    send(out(T0 + 6, ACK));
    // Whole seconds, as softflowd: expiry second T0+6+300 is removed by the first scan after it.
    expect(firstExpiry(table, T0 + 6, T0 + 400)).toBe(T0 + 307);
    expect(sink.records).toHaveLength(2);
    expect(sink.records.map((r) => [r.direction, r.packets, r.tcpFlags, r.endReason])).toEqual([
      [0, 4, SYN | ACK | FIN, 3],
      [1, 2, SYN | ACK | FIN, 3],
    ]);
    expect(table.stats.reasons[2]).toBe(1); // tcp.fin
  });

  it('keeps the tcp timeout (3600 s) when only one side sent FIN', () => {
    const { table, send } = setup();
    send(out(T0, SYN), back(T0, SYN | ACK), out(T0 + 1, FIN | ACK));
    expect(firstExpiry(table, T0 + 1, T0 + 4000)).toBe(T0 + 3602);
    expect(table.stats.reasons[0]).toBe(1); // tcp
  });

  it('expires tcp.rst (120 s) after a RST from either side', () => {
    for (const rst of [out(T0 + 2, RST), back(T0 + 2, RST | ACK)]) {
      const { sink, table, send } = setup();
      send(out(T0, SYN), rst);
      expect(firstExpiry(table, T0, T0 + 4000)).toBe(T0 + 123);
      expect(sink.records.every((r) => r.endReason === 3)).toBe(true);
      expect(table.stats.reasons[1]).toBe(1); // tcp.rst
    }
  });

  it('expires idle udp and icmp after 300 s and other protocols after general (3600 s)', () => {
    const cases: [PacketSpec, number, number][] = [
      [{ proto: UDP, t: T0 }, 300, 3],
      [{ proto: ICMP, icmpType: 8, t: T0 }, 300, 4],
      [{ proto: GRE, t: T0 }, 3600, 5],
    ];
    for (const [spec, timeout, reason] of cases) {
      const { sink, table, send } = setup();
      send(spec);
      expect(firstExpiry(table, T0, T0 + 5000)).toBe(T0 + timeout + 1);
      expect(sink.records[0].endReason).toBe(1);
      expect(table.stats.reasons[reason]).toBe(1);
    }
  });

  it('restarts the idle time with every packet', () => {
    const { table, send } = setup({ timeouts: { udp: 10 } });
    for (let i = 0; i < 5; i++) send({ t: T0 + i * 8 });
    expect(firstExpiry(table, T0, T0 + 100)).toBe(T0 + 32 + 11);
  });

  it('ends a busy flow at start + maxlife and starts a new one with the next packet', () => {
    const { sink, table, send } = setup({ timeouts: { maxlife: 250 } });
    for (let i = 0; i <= 6; i++) send({ t: T0 + i * 60 }); // 0, 60, ..., 360
    // The first flow ran T0..T0+240; its expiry was clamped to T0+250, so the packet at T0+300 found it over.
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]).toMatchObject({ packets: 5, startSec: T0, endSec: T0 + 240, endReason: 2 });
    expect(table.stats.reasons[6]).toBe(1); // maxlife
    table.expireAll();
    expect(sink.records[1]).toMatchObject({ packets: 2, startSec: T0 + 300, endSec: T0 + 360, endReason: 4 });
  });

  it('exports a direction at once when it passes 2 GiB (softflowd forces it out, we do not wrap)', () => {
    const { sink, table, send } = setup();
    // 32769 packets of 65535 octets = 2147516415 > 2^31.
    const n = Math.ceil(2 ** 31 / 65535) + (2 ** 31 % 65535 === 0 ? 1 : 0);
    for (let i = 0; i < n; i++) send({ len: 65535, t: T0 + i / 100_000 });
    expect(table.dumpFlows()[0].expiresAt).toBe(0);
    // Expiry second 0 is due at any scan; a packet that comes first starts a new flow instead.
    send({ len: 100, t: T0 + 1 });
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]).toMatchObject({ packets: n, octets: n * 65535, endReason: 5 });
    expect(table.stats.reasons[7]).toBe(1); // over 2 GiB
    expect(table.size).toBe(1);
    expect(table.dumpFlows()[0].halves[0]).toMatchObject({ packets: 1, octets: 100 });
  });

  it('flushes with expireAll: two records for a two-way conversation, one for one-way, reason forcedEnd', () => {
    const { sink, table, send } = setup();
    send({ src: A, dst: B, t: T0 }, { src: B, dst: A, sport: 2000, dport: 1000, t: T0 + 1 });
    send({ src: A, dst: '10.0.0.3', t: T0 + 2 });
    expect(table.expireAll()).toBe(2);
    expect(sink.keys()).toEqual(['10.0.0.1:1000>10.0.0.2:2000/17', '10.0.0.2:2000>10.0.0.1:1000/17', '10.0.0.1:1000>10.0.0.3:2000/17']);
    expect(sink.records.map((r) => r.endReason)).toEqual([4, 4, 4]);
    expect(table.size).toBe(0);
    expect(table.stats.flowsExpired).toBe(2);
    expect(table.stats.reasons[9]).toBe(2); // flushed
  });

  it('applies idle timeouts on the packet clock: a 5-tuple reused 1000 s after FIN/FIN is a new flow', () => {
    // Deliberate difference: softflowd -r applies no idle expiry and merges the two connections.
    const { sink, table, send } = setup();
    send(out(T0, SYN), back(T0, SYN | ACK), out(T0 + 1, FIN | ACK), back(T0 + 1, FIN | ACK));
    send(out(T0 + 1000, SYN), back(T0 + 1000, SYN | ACK));
    expect(sink.records.map((r) => [r.packets, r.endReason])).toEqual([
      [2, 3],
      [2, 3],
    ]);
    expect(table.size).toBe(1);
    expect(table.stats.reasons[2]).toBe(1);
  });

  it('does not expire before the expiry second has passed, whatever the scan frequency', () => {
    const { sink, table, send } = setup({ timeouts: { udp: 10 } });
    send({ t: T0 + 0.9 });
    expect(table.scan(T0 + 10)).toBe(0);
    // Expiry second T0+10: a packet at T0+10.99 still belongs to the flow.
    send({ t: T0 + 10.99 });
    expect(table.scan(T0 + 20)).toBe(0);
    expect(table.scan(T0 + 21)).toBe(1);
    expect(sink.records[0].packets).toBe(2);
  });

  it('deleteAll drops flows without records or statistics', () => {
    const { sink, table, send } = setup();
    send({ t: T0 }, { src: '10.0.0.9', t: T0 });
    expect(table.deleteAll()).toBe(2);
    expect(table.size).toBe(0);
    expect(table.expireAll()).toBe(0);
    expect(sink.records).toHaveLength(0);
    expect(table.stats.flowsExpired).toBe(0);
    send({ t: T0 + 1 });
    expect(table.size).toBe(1);
    expect(table.checkIntegrity()).toBeNull();
  });
});
