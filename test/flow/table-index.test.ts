import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/flow/table.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { T0, pkt, rng, type PacketSpec } from './helpers.js';

/**
 * A straightforward model of the table for UDP conversations: a Map of flows with softflowd's idle rule, the
 * packet-clock expiry, and the maxflows check (scan, then evict by expiry second and creation order) every
 * checkEvery packets. The table must end every flow the model ends, with the same packets.
 */
class Model {
  flows = new Map<number, { seq: number; expiresAt: number; packets: number }>();
  ended = new Map<number, number[]>();
  private seq = 1;
  private clock = 0;
  private since = 0;
  constructor(
    private readonly udp: number,
    private readonly maxFlows: number,
    private readonly checkEvery: number,
  ) {}

  packet(conv: number, sec: number): void {
    this.clock = Math.max(this.clock, sec);
    let f = this.flows.get(conv);
    if (f && f.expiresAt < sec) {
      this.end(conv);
      f = undefined;
    }
    if (!f) {
      f = { seq: this.seq++, expiresAt: 0, packets: 0 };
      this.flows.set(conv, f);
    }
    f.packets++;
    f.expiresAt = Math.max(f.expiresAt, sec + this.udp);
    if (++this.since >= this.checkEvery) {
      this.since = 0;
      this.scan(this.clock);
      const excess = this.flows.size - this.maxFlows;
      if (excess > 0) {
        const order = [...this.flows.entries()].sort((a, b) => a[1].expiresAt - b[1].expiresAt || a[1].seq - b[1].seq);
        for (const [c] of order.slice(0, excess)) this.end(c);
      }
    }
  }

  scan(now: number): void {
    for (const [c, f] of this.flows) if (f.expiresAt < now) this.end(c);
  }

  endAll(): void {
    for (const c of [...this.flows.keys()]) this.end(c);
  }

  private end(conv: number): void {
    const list = this.ended.get(conv) ?? [];
    list.push(this.flows.get(conv)!.packets);
    this.ended.set(conv, list);
    this.flows.delete(conv);
  }
}

/** Conversation i: a client (v4 or v6, sometimes under an MPLS label) with port 1024+i talking to port 53. */
function conversation(i: number, reply: boolean, t: number): PacketSpec {
  const v6 = i % 3 === 0;
  const client = v6 ? `2001:db8::${(i + 1).toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const server = v6 ? '2001:db8:ffff::53' : '192.0.2.53';
  const mpls = i % 5 === 0 ? [((16 + (i % 7)) << 12) | 0x1ff] : [];
  return reply
    ? { src: server, dst: client, sport: 53, dport: 1024 + i, t, mpls }
    : { src: client, dst: server, sport: 1024 + i, dport: 53, t, mpls };
}

function convOf(r: FlowRecord): number {
  return (r.srcPort === 53 ? r.dstPort : r.srcPort) - 1024;
}

describe('flow table index', () => {
  for (const [name, maxFlows] of [
    ['grows and rehashes with many flows and deletions', 100_000],
    ['stays correct under maxflows pressure at high load', 3000],
  ] as const) {
    it(`${name} (differential against a Map model)`, () => {
      const udp = 20;
      const checkEvery = maxFlows;
      const ended = new Map<number, number[]>();
      const table = new FlowTable(
        {
          onFlow(r) {
            const c = convOf(r);
            const list = ended.get(c) ?? [];
            list.push(r.packets + r.revPackets);
            ended.set(c, list);
          },
        },
        { maxFlows, checkEvery, timeouts: { udp }, biflow: true, initialCapacity: 16, hashSeed: 99 },
      );
      const model = new Model(udp, maxFlows, checkEvery);
      const rand = rng(maxFlows);
      const convs = 20_000;
      let t = T0;
      let peak = 0;
      for (let step = 0; step < 120_000; step++) {
        t += rand() * 0.004;
        // A skewed pick: some conversations are busy, most come and go.
        const conv = Math.floor(convs * rand() ** 2);
        table.update(pkt(conversation(conv, rand() < 0.4, t)));
        model.packet(conv, Math.floor(t));
        peak = Math.max(peak, table.size);
        if (rand() < 0.0005) {
          table.scan(Math.floor(t));
          model.scan(Math.floor(t));
        }
        if (step % 20_000 === 0) expect(table.checkIntegrity()).toBeNull();
        expect(table.size).toBe(model.flows.size);
      }
      expect(table.checkIntegrity()).toBeNull();
      table.expireAll();
      model.endAll();
      expect(table.size).toBe(0);
      expect(ended).toEqual(model.ended);
      // The run must actually have exercised growth and deletion.
      expect(peak).toBeGreaterThan(2000);
      expect([...ended.values()].filter((l) => l.length > 1).length).toBeGreaterThan(1000);
      if (maxFlows < 10_000) expect(table.stats.flowsForced).toBeGreaterThan(1000);
      else expect(table.stats.flowsForced).toBe(0);
    });
  }

  it('drops a whole maxflows eviction in one pass over the index and finds every other flow again', () => {
    // 4000 flows, then the check at packet 4000 evicts the 2000 that expire soonest (the first 2000, sent a second
    // earlier): half the table at once, which leaves the index in one pass.
    const ended: number[] = [];
    const table = new FlowTable({ onFlow: (r) => ended.push(r.srcPort) }, { maxFlows: 2000, timeouts: { udp: 10 }, hashSeed: 7 });
    for (let i = 0; i < 4000; i++) table.update(pkt({ sport: 10_000 + i, t: T0 + (i < 2000 ? 0 : 1) }));
    expect(table.size).toBe(2000);
    expect(table.stats.flowsForced).toBe(2000);
    expect(ended.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => 10_000 + i));
    expect(table.checkIntegrity()).toBeNull();
    for (let i = 2000; i < 4000; i++) table.update(pkt({ sport: 10_000 + i, t: T0 + 2 }));
    expect(table.size).toBe(2000);
    expect(table.dumpFlows().every((f) => f.halves[0].packets === 2)).toBe(true);
    expect(table.checkIntegrity()).toBeNull();
  });

  it('finds every live flow again after a burst of deletions in one probe cluster', () => {
    // 5000 flows, every other one expired: the backward shift must leave the survivors reachable.
    const ended: number[] = [];
    const table = new FlowTable({ onFlow: (r) => ended.push(r.srcPort) }, { maxFlows: 10_000, timeouts: { udp: 10 }, hashSeed: 5 });
    for (let i = 0; i < 5000; i++) table.update(pkt({ sport: 10_000 + i, t: T0 + (i % 2) * 100 }));
    expect(table.scan(T0 + 50)).toBe(2500);
    expect(table.checkIntegrity()).toBeNull();
    for (let i = 1; i < 5000; i += 2) table.update(pkt({ sport: 10_000 + i, t: T0 + 101 }));
    expect(table.size).toBe(2500);
    expect(table.dumpFlows().every((f) => f.halves[0].packets === 2)).toBe(true);
  });
});
