import { describe, expect, it } from 'vitest';
import { DecodeStatus, Fragment } from '../../src/decode/packet.js';
import { FlowTable, type FlowTableOptions } from '../../src/flow/table.js';
import { ACK, Collect, FIN, ICMP, ICMPV6, RST, SYN, T0, TCP, UDP, pkt, text, type PacketSpec } from './helpers.js';

function run(specs: PacketSpec[], options: FlowTableOptions = {}) {
  const sink = new Collect();
  const table = new FlowTable(sink, { hashSeed: 7, ...options });
  for (const s of specs) table.update(pkt(s));
  const active = table.size;
  table.expireAll();
  return { sink, table, active };
}

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';

describe('canonical halves', () => {
  it('puts the lower address in half 0 whoever sends first, and exports half 0 first', () => {
    const { sink, active } = run([
      { src: B, dst: A, sport: 53, dport: 5353, t: T0 },
      { src: A, dst: B, sport: 5353, dport: 53, t: T0 + 1 },
      { src: B, dst: A, sport: 53, dport: 5353, t: T0 + 2 },
    ]);
    expect(active).toBe(1);
    expect(sink.keys()).toEqual(['10.0.0.1:5353>10.0.0.2:53/17', '10.0.0.2:53>10.0.0.1:5353/17']);
    expect(sink.records.map((r) => [r.direction, r.packets])).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  it('orders IPv6 addresses by their bytes (memcmp), word by word', () => {
    const lo = '2001:db8::ffff:1';
    const hi = '2001:db8:0:1::';
    const { sink, active } = run([
      { src: hi, dst: lo, t: T0 },
      { src: lo, dst: hi, sport: 2000, dport: 1000, t: T0 },
    ]);
    expect(active).toBe(1);
    expect(text(sink.records[0].src, 6)).toBe('2001:db8:0:0:0:0:ffff:1');
    expect(sink.records[0].ipVersion).toBe(6);
  });

  it('with equal addresses keeps every packet in half 0 with its ports, so the two directions are two flows', () => {
    const lo = '127.0.0.1';
    const { sink, active } = run([
      { src: lo, dst: lo, sport: 1000, dport: 2000, t: T0 },
      { src: lo, dst: lo, sport: 2000, dport: 1000, t: T0 },
      { src: lo, dst: lo, sport: 1000, dport: 2000, t: T0 },
    ]);
    expect(active).toBe(2);
    expect(sink.keys()).toEqual(['127.0.0.1:1000>127.0.0.1:2000/17', '127.0.0.1:2000>127.0.0.1:1000/17']);
    expect(sink.records.map((r) => [r.direction, r.packets])).toEqual([
      [0, 2],
      [0, 1],
    ]);
  });

  it('keeps each direction its own ToS (first packet), flow label and first/last times', () => {
    const { sink } = run([
      { src: A, dst: B, tos: 0x10, flowLabel: 0, t: T0 + 0.25 },
      { src: B, dst: A, sport: 2000, dport: 1000, tos: 0xb8, t: T0 + 1.5 },
      { src: A, dst: B, tos: 0x20, t: T0 + 3.75 },
      { src: B, dst: A, sport: 2000, dport: 1000, tos: 0, t: T0 + 2.125 },
    ]);
    expect(sink.records.map((r) => [r.tos, r.startSec, r.startNsec, r.endSec, r.endNsec])).toEqual([
      [0x10, T0, 250_000_000, T0 + 3, 750_000_000],
      [0xb8, T0 + 1, 500_000_000, T0 + 2, 125_000_000],
    ]);
  });

  it('keeps the IPv6 traffic class and flow label', () => {
    const { sink } = run([{ src: '2001:db8::1', dst: '2001:db8::2', tos: 0x28, flowLabel: 0xabcde, t: T0 }]);
    expect(sink.records[0]).toMatchObject({ ipVersion: 6, tos: 0x28, flowLabel: 0xabcde });
  });

  it('takes times in or out of order: first is the earliest packet, last the latest', () => {
    const { sink } = run([{ t: T0 + 5 }, { t: T0 + 2 }, { t: T0 + 9 }, { t: T0 + 7 }]);
    expect(sink.records[0]).toMatchObject({ packets: 4, startSec: T0 + 2, endSec: T0 + 9 });
  });
});

describe('tracking levels', () => {
  const mixed: PacketSpec[] = [
    { src: A, dst: B, proto: TCP, sport: 40000, dport: 80, flags: SYN, t: T0 },
    { src: B, dst: A, proto: TCP, sport: 80, dport: 40000, flags: RST | ACK, t: T0 },
    { src: A, dst: B, proto: TCP, sport: 40001, dport: 443, flags: SYN, t: T0 },
    { src: A, dst: B, proto: UDP, sport: 5000, dport: 53, t: T0 },
    { src: A, dst: B, proto: ICMP, icmpType: 8, t: T0 },
  ];

  it('full and port are the same: addresses, protocol and ports', () => {
    for (const tracking of ['full', 'port'] as const) {
      const { sink, active } = run(mixed, { tracking });
      expect(active, tracking).toBe(4);
      expect(sink.records[0].tcpFlags).toBe(SYN);
    }
  });

  it('proto zeroes ports and TCP flags, so RST does not shorten the timeout', () => {
    const sink = new Collect();
    const table = new FlowTable(sink, { tracking: 'proto' });
    for (const s of mixed) table.update(pkt(s));
    expect(table.size).toBe(3); // tcp, udp, icmp between A and B
    const tcp = table.dumpFlows().find((f) => f.protocol === TCP)!;
    expect(tcp.port).toEqual([0, 0]);
    expect(tcp.halves.map((h) => [h.packets, h.tcpFlags])).toEqual([
      [2, 0],
      [1, 0],
    ]);
    expect(tcp.expiresAt).toBe(T0 + 3600);
    const icmp = table.dumpFlows().find((f) => f.protocol === ICMP)!;
    expect(icmp.port).toEqual([0, 0]);
  });

  it('ip zeroes the protocol too: one flow per address pair, on the general timeout', () => {
    const sink = new Collect();
    const table = new FlowTable(sink, { tracking: 'ip' });
    for (const s of mixed) table.update(pkt(s));
    expect(table.size).toBe(1);
    const [f] = table.dumpFlows();
    expect([f.protocol, f.halves[0].packets, f.halves[1].packets, f.expiresAt]).toEqual([0, 4, 1, T0 + 3600]);
    table.expireAll();
    expect(sink.records.map((r) => [r.protocol, r.srcPort, r.dstPort, r.tcpFlags])).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('vlan adds the VLAN id to the key and keeps both directions of a conversation one flow', () => {
    // Deliberate difference: softflowd stores the tag per sender half and splits the two directions.
    const specs: PacketSpec[] = [
      { src: A, dst: B, vlan: 100, t: T0 },
      { src: B, dst: A, sport: 2000, dport: 1000, vlan: 100, t: T0 },
      { src: A, dst: B, vlan: 200, t: T0 },
    ];
    const { sink, active } = run(specs, { tracking: 'vlan' });
    expect(active).toBe(2);
    expect(sink.records.map((r) => [r.vlan, r.direction])).toEqual([
      [100, 0],
      [100, 1],
      [200, 0],
    ]);
    expect(run(specs, { tracking: 'full' }).active).toBe(1);
    expect(run(specs, { tracking: 'full' }).sink.records[0].vlan).toBe(0);
  });

  it('vlan tells QinQ customers apart by the inner tag', () => {
    const { active } = run(
      [
        { vlan: 10, vlanInner: 1, t: T0 },
        { vlan: 10, vlanInner: 2, t: T0 },
      ],
      { tracking: 'vlan' },
    );
    expect(active).toBe(2);
  });

  it('ether adds both MACs canonically: the reply matches, and each record has its own source MAC', () => {
    const macA: [number, number] = [0x0200, 0x0000000a];
    const macB: [number, number] = [0x0200, 0x0000000b];
    const macR: [number, number] = [0x0200, 0x000000ff];
    const { sink, active } = run(
      [
        { src: A, dst: B, srcMac: macA, dstMac: macB, t: T0 },
        { src: B, dst: A, sport: 2000, dport: 1000, srcMac: macB, dstMac: macA, t: T0 },
        // Same addresses through a router: other MACs, another flow.
        { src: A, dst: B, srcMac: macA, dstMac: macR, t: T0 },
      ],
      { tracking: 'ether' },
    );
    expect(active).toBe(2);
    expect(sink.records.map((r) => [r.srcMacLo, r.dstMacLo, r.srcMacHi])).toEqual([
      [0x0a, 0x0b, 0x0200],
      [0x0b, 0x0a, 0x0200],
      [0x0a, 0xff, 0x0200],
    ]);
  });

  it('puts MPLS labels in the key at every level, including ip', () => {
    const label = (l: number) => ((l << 12) | 0x100 | 64) >>> 0;
    for (const tracking of ['full', 'proto', 'ip', 'vlan', 'ether'] as const) {
      const { sink, active } = run(
        [
          { mpls: [label(100)], t: T0 },
          { mpls: [label(200)], t: T0 },
          { mpls: [label(100), label(300)], t: T0 },
          { t: T0 },
          { src: B, dst: A, sport: 2000, dport: 1000, mpls: [label(100)], t: T0 },
        ],
        { tracking },
      );
      expect(active, tracking).toBe(4);
      expect(sink.records[0].mplsDepth).toBe(1);
      expect(sink.records[0].mpls[0]).toBe(label(100));
    }
  });
});

describe('what makes a flow', () => {
  it('makes ICMP echo request and echo reply two flows (type*256+code in the destination port)', () => {
    const { sink, active } = run([
      { src: A, dst: B, proto: ICMP, icmpType: 8, t: T0 },
      { src: B, dst: A, proto: ICMP, icmpType: 0, t: T0 },
      { src: A, dst: B, proto: ICMP, icmpType: 8, t: T0 },
    ]);
    expect(active).toBe(2);
    expect(sink.records.map((r) => [text(r.src), r.srcPort, r.dstPort, r.packets])).toEqual([
      ['10.0.0.1', 0, 0x0800, 2],
      ['10.0.0.2', 0, 0, 1],
    ]);
  });

  it('gives ICMPv6 (58) the icmp timeout', () => {
    const sink = new Collect();
    const table = new FlowTable(sink, { timeouts: { icmp: 17 } });
    table.update(pkt({ src: '2001:db8::1', dst: '2001:db8::2', proto: ICMPV6, icmpType: 128, t: T0 }));
    expect(table.dumpFlows()[0].expiresAt).toBe(T0 + 17);
  });

  it('makes later IPv4 fragments their own portless flow and counts every fragment', () => {
    const { sink, active, table } = run([
      { proto: UDP, sport: 5000, dport: 53, fragment: Fragment.FIRST, len: 1500, t: T0 },
      // A decoder leaves ports at 0 for a fragment with an offset (no transport header).
      { proto: UDP, sport: 0, dport: 0, fragment: Fragment.LATER, len: 520, t: T0 },
      { proto: UDP, sport: 5000, dport: 53, len: 80, t: T0 },
    ]);
    expect(active).toBe(2);
    expect(sink.records.map((r) => [r.srcPort, r.dstPort, r.protocol, r.packets, r.octets])).toEqual([
      [5000, 53, UDP, 2, 1580],
      [0, 0, UDP, 1, 520],
    ]);
    expect(table.stats.fragments).toBe(2);
  });

  it('counts octets as the IP length by default and as softflowd does with octets: link', () => {
    const specs: PacketSpec[] = [{ len: 40, linkOctets: 46, t: T0 }, { len: 1500, linkOctets: 1500, t: T0 }];
    expect(run(specs).sink.records[0].octets).toBe(1540);
    expect(run(specs, { octets: 'link' }).sink.records[0].octets).toBe(1546);
  });

  it('ORs TCP flags per direction', () => {
    const { sink } = run([
      { proto: TCP, flags: SYN, t: T0 },
      { proto: TCP, flags: ACK, t: T0 },
      { proto: TCP, flags: FIN | ACK, t: T0 },
    ]);
    expect(sink.records[0].tcpFlags).toBe(SYN | ACK | FIN);
  });
});

describe('packets that make no flow', () => {
  it('counts non-IP, unknown link and too-short packets; too short stays in "processed" as in softflowd', () => {
    const { table, active } = run([
      { status: DecodeStatus.NON_IP },
      { status: DecodeStatus.UNKNOWN_LINK },
      { status: DecodeStatus.TOO_SHORT },
      { t: T0 },
    ]);
    expect(active).toBe(1);
    expect(table.stats).toMatchObject({ nonIp: 2, tooShort: 1, packetsProcessed: 2 });
    expect(table.stats.ignored).toBe(3);
  });

  it('with IPv6 tracking off counts IPv6 as non-IP and makes no flow (softflowd v5 without -6)', () => {
    const v6: PacketSpec = { src: '2001:db8::1', dst: '2001:db8::2', t: T0 };
    const off = run([v6, { t: T0 }], { trackV6: false });
    expect(off.active).toBe(1);
    expect(off.table.stats).toMatchObject({ nonIp: 1, packetsProcessed: 1 });
    expect(off.sink.records.map((r) => r.ipVersion)).toEqual([4]);
    const on = run([v6, { t: T0 }]);
    expect(on.active).toBe(2);
    expect(on.table.stats.nonIp).toBe(0);
  });
});

describe('biflow records (IPFIX -b)', () => {
  it('exports one record per flow: half 0 forward, half 1 in the reverse fields, the whole flow times', () => {
    const { sink } = run(
      [
        { src: B, dst: A, sport: 2000, dport: 1000, proto: TCP, flags: SYN, tos: 4, len: 60, t: T0 + 1 },
        { src: A, dst: B, proto: TCP, flags: SYN | ACK, tos: 8, len: 60, t: T0 + 2 },
        { src: B, dst: A, sport: 2000, dport: 1000, proto: TCP, flags: ACK, len: 52, t: T0 + 3 },
      ],
      { biflow: true },
    );
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]).toMatchObject({
      srcPort: 1000,
      dstPort: 2000,
      packets: 1,
      octets: 60,
      tcpFlags: SYN | ACK,
      tos: 8,
      revPackets: 2,
      revOctets: 112,
      revTcpFlags: SYN | ACK,
      revTos: 4,
      startSec: T0 + 1,
      endSec: T0 + 3,
      direction: 0,
    });
  });
});
