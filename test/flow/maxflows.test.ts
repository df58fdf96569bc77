import { describe, expect, it } from 'vitest';
import { DecodeStatus } from '../../src/decode/packet.js';
import { FlowTable, type FlowTableOptions } from '../../src/flow/table.js';
import { Collect, T0, TCP, UDP, pkt, text, type PacketSpec } from './helpers.js';

function setup(options: FlowTableOptions) {
  const sink = new Collect();
  const table = new FlowTable(sink, { hashSeed: 3, ...options });
  const send = (...specs: PacketSpec[]) => specs.forEach((s) => table.update(pkt(s)));
  const hosts = () => sink.records.map((r) => text(r.dst));
  return { sink, table, send, hosts };
}
const to = (n: number, extra: PacketSpec = {}): PacketSpec => ({ src: '10.0.0.1', dst: `10.0.1.${n}`, ...extra });

describe('maxflows eviction', () => {
  it('evicts the flow that would expire soonest, not the oldest: a quiet UDP flow before an older TCP one', () => {
    const { sink, table, send, hosts } = setup({ maxFlows: 2, checkEvery: 1 });
    send(to(1, { proto: TCP, t: T0 })); // expires T0+3600
    send(to(2, { proto: UDP, t: T0 + 10 })); // expires T0+310
    send(to(3, { proto: UDP, t: T0 + 20 })); // expires T0+320: three flows, one must go
    expect(hosts()).toEqual(['10.0.1.2']);
    expect(sink.records[0].endReason).toBe(5);
    expect(table.stats).toMatchObject({ flowsForced: 1, flowsExpired: 1, activeFlows: 2 });
    expect(table.stats.reasons[8]).toBe(1); // maxflows
  });

  it('breaks ties on the expiry second by creation order', () => {
    const { table, send, hosts } = setup({ maxFlows: 1, checkEvery: 4 });
    // All four expire at T0+300; the check after the 4th packet keeps one: the newest.
    send(to(4, { t: T0 + 0.9 }), to(3, { t: T0 + 0.1 }), to(2, { t: T0 + 0.5 }), to(1, { t: T0 }));
    expect(hosts().sort()).toEqual(['10.0.1.2', '10.0.1.3', '10.0.1.4']);
    expect(table.dumpFlows().map((f) => text(f.addr[1]))).toEqual(['10.0.1.1']);
  });

  it('checks every maxflows packets by default, as softflowd between dispatch batches', () => {
    // softflowd reads max_flows packets per pcap_dispatch and evicts only after the batch: within a batch the
    // table grows past max_flows, and a packet for a flow that a per-packet check would already have evicted
    // still joins it. Checking at the same packet counts is what makes our flows equal to softflowd's.
    const { table, send, hosts } = setup({ maxFlows: 3 });
    send(to(1, { t: T0 }), to(2, { t: T0 + 1 }), to(3, { t: T0 + 2 })); // check after packet 3: 3 flows, fine
    send(to(4, { t: T0 + 3 }), to(5, { t: T0 + 4 }));
    expect(table.size).toBe(5); // over maxflows inside the batch
    send(to(1, { t: T0 + 5 })); // packet 6 joins flow 1, then the check evicts the two soonest: 2 and 3
    expect(hosts()).toEqual(['10.0.1.2', '10.0.1.3']);
    expect(table.dumpFlows().map((f) => [text(f.addr[1]), f.halves[0].packets])).toEqual([
      ['10.0.1.4', 1],
      ['10.0.1.5', 1],
      ['10.0.1.1', 2],
    ]);
  });

  it('with checkEvery 1 never holds more than maxflows after a packet', () => {
    const { table, send } = setup({ maxFlows: 5, checkEvery: 1 });
    for (let i = 0; i < 200; i++) {
      send(to(i % 37, { sport: i, t: T0 + i }));
      expect(table.size).toBeLessThanOrEqual(5);
    }
    expect(table.stats.flowsForced).toBe(195);
    expect(table.checkIntegrity()).toBeNull();
  });

  it('counts ignored and sampled-out packets toward the check interval, as they count in a dispatch batch', () => {
    const { table, send } = setup({ maxFlows: 1, sampling: 2 });
    // Packet 1: kept, flow A. Packet 2: sampled out. Check after 1 packet each time (maxFlows 1).
    expect(table.sample()).toBe(true);
    send(to(1, { t: T0 }));
    send(to(2, { status: DecodeStatus.NON_IP }));
    expect(table.sample()).toBe(false);
    expect(table.size).toBe(1);
    expect(table.stats.nonSampled).toBe(1);
  });

  it('enforceMaxFlows at the end of input counts the last batch as maxflows, then expireAll flushes the rest', () => {
    const { table, send, sink } = setup({ maxFlows: 2, checkEvery: 10 });
    send(to(1, { t: T0 }), to(2, { t: T0 }), to(3, { t: T0 }), to(4, { t: T0 }));
    expect(table.enforceMaxFlows()).toBe(2);
    expect(table.expireAll()).toBe(2);
    expect(sink.records.map((r) => r.endReason)).toEqual([5, 5, 4, 4]);
    expect(table.stats.reasons[8]).toBe(2);
    expect(table.stats.reasons[9]).toBe(2);
    expect(table.stats).toMatchObject({ flowsExpired: 4, flowsForced: 2 });
  });

  it('takes flows due now (over 2 GiB) first and long-timeout flows beyond the wheel last', () => {
    const { table, send, hosts } = setup({ maxFlows: 1, checkEvery: 1_000_000, timeouts: { general: 100_000, udp: 50 } });
    send(to(1, { proto: 47, t: T0 })); // general: T0+100000, beyond the wheel's 4096 s
    send(to(2, { proto: UDP, t: T0 })); // T0+50
    send(to(3, { proto: 47, t: T0 + 1 })); // T0+100001
    for (let i = 0; i < 32769; i++) send(to(4, { proto: TCP, len: 65535, t: T0 + 1 })); // over 2 GiB: due now
    expect(table.size).toBe(4);
    table.enforceMaxFlows();
    // 3 evicted: the over-2-GiB one is due at the scan before eviction (not counted as maxflows), then 2, 1.
    expect(hosts()).toEqual(['10.0.1.4', '10.0.1.2', '10.0.1.1']);
    expect(table.stats.reasons[7]).toBe(1);
    expect(table.stats.flowsForced).toBe(2);
    expect(table.dumpFlows().map((f) => text(f.addr[1]))).toEqual(['10.0.1.3']);
  });

  it('rejects a maxflows below 1', () => {
    expect(() => new FlowTable(new Collect(), { maxFlows: 0 })).toThrow(/maxflows 0/);
  });
});
