import { describe, expect, it } from 'vitest';
import { DecodeStatus, Fragment } from '../../src/decode/packet.js';
import { Reason } from '../../src/flow/expiry.js';
import { FlowTable } from '../../src/flow/table.js';
import { Collect, FIN, ICMP, SYN, T0, TCP, UDP, pkt, text, type PacketSpec } from './helpers.js';

describe('statistics', () => {
  it('keeps min/avg/max of expired flows (both directions together) and per-protocol totals', () => {
    const table = new FlowTable(new Collect());
    const send = (...s: PacketSpec[]) => s.forEach((x) => table.update(pkt(x)));
    // Flow 1: UDP, 2 packets, 300 octets, 1.5 s. Flow 2: UDP, 1 packet, 100 octets, 0 s.
    send({ src: '10.0.0.1', dst: '10.0.0.2', len: 200, t: T0 }, { src: '10.0.0.2', dst: '10.0.0.1', sport: 2000, dport: 1000, len: 100, t: T0 + 1.5 });
    send({ src: '10.0.0.1', dst: '10.0.0.3', len: 100, t: T0 + 2 });
    // Flow 3: TCP, 3 packets, 180 octets, 0.25 s.
    send(
      { dst: '10.0.0.4', proto: TCP, flags: SYN, len: 60, t: T0 + 3 },
      { dst: '10.0.0.4', proto: TCP, len: 60, t: T0 + 3.125 },
      { dst: '10.0.0.4', proto: TCP, flags: FIN, len: 60, t: T0 + 3.25 },
    );
    send({ status: DecodeStatus.NON_IP }, { proto: ICMP, fragment: Fragment.FIRST, dst: '10.0.0.5', t: T0 + 4 });
    expect(table.stats).toMatchObject({ activeFlows: 4, packetsProcessed: 7, fragments: 1, nonIp: 1 });
    table.scan(T0 + 302); // the first UDP flow (expiry second T0+301); the second (T0+302) is not yet due
    table.expireAll();
    const st = table.stats;
    expect(st).toMatchObject({ activeFlows: 0, flowsExpired: 4, flowsForced: 0 });
    expect([st.flowOctets.min, st.flowOctets.mean, st.flowOctets.max]).toEqual([100, (300 + 100 + 180 + 100) / 4, 300]);
    expect([st.flowPackets.min, st.flowPackets.max]).toEqual([1, 3]);
    expect(st.flowDuration.max).toBeCloseTo(1.5, 9);
    expect(st.flowDuration.mean).toBeCloseTo((1.5 + 0 + 0.25 + 0) / 4, 9);
    expect([st.protoFlows[UDP], st.protoOctets[UDP], st.protoPackets[UDP]]).toEqual([2, 400, 3]);
    expect([st.protoFlows[TCP], st.protoOctets[TCP], st.protoPackets[TCP]]).toEqual([1, 180, 3]);
    expect(st.protoLifeMean[UDP]).toBeCloseTo(0.75, 9);
    expect(st.protoLifeMax[UDP]).toBeCloseTo(1.5, 9);
    expect(st.protoLifeMax[TCP]).toBeCloseTo(0.25, 9);
    expect(st.reasons[Reason.UDP]).toBe(1);
    expect(st.reasons[Reason.FLUSHED]).toBe(3);
  });
});

describe('dump-flows', () => {
  it('lists active flows in expiry order with both halves, times, expiry second and pending reason', () => {
    const table = new FlowTable(new Collect(), { timeouts: { udp: 30 } });
    table.update(pkt({ src: '10.0.0.9', dst: '10.0.0.1', sport: 80, dport: 5000, proto: TCP, flags: SYN, tos: 8, t: T0 }));
    table.update(pkt({ src: '10.0.0.1', dst: '10.0.0.9', sport: 5000, dport: 80, proto: TCP, flags: SYN, t: T0 + 0.5 }));
    table.update(pkt({ src: '10.0.0.2', dst: '10.0.0.3', t: T0 + 1 }));
    table.update(pkt({ src: '10.0.0.4', dst: '10.0.0.3', t: T0 + 1 }));
    const flows = table.dumpFlows();
    expect(flows.map((f) => [f.seq, f.expiresAt, f.reason])).toEqual([
      [2, T0 + 31, Reason.UDP],
      [3, T0 + 31, Reason.UDP],
      [1, T0 + 3600, Reason.TCP],
    ]);
    const tcp = flows[2];
    expect([text(tcp.addr[0]), text(tcp.addr[1]), tcp.port, tcp.protocol]).toEqual(['10.0.0.1', '10.0.0.9', [5000, 80], TCP]);
    expect(tcp.halves[1]).toMatchObject({ packets: 1, tcpFlags: SYN, tos: 8, firstSec: T0 });
    expect(tcp.halves[0]).toMatchObject({ packets: 1, firstSec: T0, firstNsec: 500_000_000 });
    expect([tcp.startSec, tcp.startNsec, tcp.endSec, tcp.endNsec]).toEqual([T0, 0, T0, 500_000_000]);
    // A copy: it does not change under the table.
    table.expireAll();
    expect(tcp.halves[1].packets).toBe(1);
  });
});

describe('sampling', () => {
  it("keeps softflowd's packets: (processed + skipped) mod N, with non-IP shifting the phase", () => {
    const table = new FlowTable(new Collect(), { sampling: 3 });
    const kept: number[] = [];
    for (let i = 1; i <= 8; i++) {
      if (!table.sample()) continue;
      kept.push(i);
      table.update(pkt(i === 4 ? { status: DecodeStatus.NON_IP } : { sport: i, t: T0 }));
    }
    // All IP would keep 1, 4, 7; the non-IP 4th packet is not "processed", so 5 is kept too.
    expect(kept).toEqual([1, 4, 5, 8]);
    expect(table.stats).toMatchObject({ nonSampled: 4, packetsProcessed: 3, nonIp: 1 });
  });

  it('keeps everything with N below 2', () => {
    const table = new FlowTable(new Collect(), { sampling: 1 });
    expect([table.sample(), table.sample(), table.sample()]).toEqual([true, true, true]);
  });
});
