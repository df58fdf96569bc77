import { describe, expect, it } from 'vitest';
import { compileLayout } from '../../src/query/output.js';
import type { QueryOptions } from '../../src/query/run.js';
import { ArraySource } from '../../src/query/source.js';
import { Aggregator, aggregationLayout, parseAggregation, parseStatSpec, StatTable } from '../../src/query/stats.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { flow, inUtc, queryLines, T0 } from './records.js';

/**
 * The six flows of collectors.md §5.3 (softflowd v9 → nfcapd, with the 49.7-day time wrap nfcapd stored), whose
 * -s and -A output the reference quotes from nfdump 1.7.1.
 */
const at = (s: string): number => Date.parse(s + 'Z');
const SECTION_5_3 = [
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, sport: 53000, dport: 53, packets: 3, bytes: 204, start: at('2027-01-13T12:45:35.644'), end: at('2027-01-13T12:45:37.644') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, sport: 53, dport: 53000, packets: 3, bytes: 444, start: at('2027-01-13T12:45:35.645'), end: at('2027-01-13T12:45:37.645') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 1, sport: 0, dport: 2048, packets: 4, bytes: 336, start: at('2027-01-13T12:45:39.644'), end: at('2027-01-13T12:45:42.644') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 1, sport: 0, dport: 0, packets: 4, bytes: 336, start: at('2027-01-13T12:45:39.644'), end: at('2027-01-13T12:45:42.644') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 6, sport: 40000, dport: 80, flags: 0x1b, packets: 5, bytes: 218, start: at('2027-01-13T12:45:34.644'), end: at('2027-01-13T12:45:34.666') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 6, sport: 80, dport: 40000, flags: 0x1b, packets: 3, bytes: 1120, start: at('2027-01-13T12:45:34.645'), end: at('2027-01-13T12:45:34.665') }),
];

function run(opts: QueryOptions, records: FlowRecord[]): Promise<string[]> {
  return queryLines(opts, new ArraySource(records));
}

function table(spec: string, records: FlowRecord[]): StatTable {
  const t = new StatTable(parseStatSpec(spec));
  for (const r of records) t.add(r);
  return t;
}

inUtc();

describe('top-N statistics (-s)', () => {
  it('prints nfdump\'s title, header and rows (the untied rows of collectors.md §5.7)', async () => {
    const lines = await run({ stats: ['dstport/bytes/packets'], topN: 2 }, SECTION_5_3);
    // nfdump prints the orders in its own order (packets before bytes), each table followed by an empty line.
    expect(lines[0]).toBe('Top 2 Dst Port ordered by packets:');
    expect(lines[1]).toBe(
      'Date first seen                 Duration Proto          Dst Port    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp',
    );
    expect(lines[2]).toBe(
      '2027-01-13 12:45:34.644     00:00:00.022 any                  80        1(16.7)        5(22.7)      218( 8.2)      227    79272    43',
    );
    expect(lines[5]).toBe('Top 2 Dst Port ordered by bytes:');
    expect(lines.slice(7, 10)).toEqual([
      '2027-01-13 12:45:34.645     00:00:00.020 any               40000        1(16.7)        3(13.6)     1120(42.1)      150   448000   373',
      '2027-01-13 12:45:35.645     00:00:02.000 any               53000        1(16.7)        3(13.6)      444(16.7)        1     1776   148',
      '',
    ]);
    expect(lines[10]).toBe('Summary: total flows: 6, total bytes: 2658, total packets: 22, avg bps: 2658, avg pps: 2, avg bpp: 120');
  });

  it('prints the per-protocol rows of collectors.md §5.7 (-s proto)', async () => {
    const lines = await run({ stats: ['proto'], topN: 5 }, SECTION_5_3);
    expect(lines[0]).toBe('Top 5 Protocol ordered by flows:');
    expect(lines[1]).toBe(
      'Date first seen                 Duration Proto          Protocol    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp',
    );
    // All three protocols have 2 flows: nfdump's order among ties is its hash order, so compare as a set.
    expect(lines.slice(2, 5).sort()).toEqual([
      '2027-01-13 12:45:34.644     00:00:00.022 TCP                   6        2(33.3)        8(36.4)     1338(50.3)      363   486545   167',
      '2027-01-13 12:45:35.644     00:00:02.001 UDP                  17        2(33.3)        6(27.3)      648(24.4)        2     2590   108',
      '2027-01-13 12:45:39.644     00:00:03.000 ICMP                  1        2(33.3)        8(36.4)      672(25.3)        2     1792    84',
    ]);
  });

  it('ranks by the chosen order, largest first, and keeps first-seen order among ties', () => {
    const flows = [
      flow({ src: '10.0.0.1', bytes: 100 }),
      flow({ src: '10.0.0.2', bytes: 5000 }),
      flow({ src: '10.0.0.3', bytes: 700 }),
      flow({ src: '10.0.0.3', bytes: 700 }),
      flow({ src: '10.0.0.4', bytes: 1400 }),
    ];
    const t = table('srcip/bytes/flows', flows);
    expect(t.ranked('bytes', 0).map((e) => [e.words![0] & 0xff, e.bytes])).toEqual([[2, 5000], [3, 1400], [4, 1400], [1, 100]]);
    expect(t.ranked('flows', 2).map((e) => [e.words![0] & 0xff, e.flows])).toEqual([[3, 2], [1, 1]]);
  });

  it('counts a flow under both of its values for ip and port, percentages of all flows', () => {
    const flows = [flow({ src: '10.0.0.1', dst: '10.0.0.9' }), flow({ src: '10.0.0.9', dst: '10.0.0.2' }), flow({ src: '10.0.0.3', dst: '10.0.0.4' })];
    const t = table('ip', flows);
    const nine = t.ranked('flows', 1)[0];
    expect(nine.flows).toBe(2);
    const lines = t.textReport(1, { flows: 3, packets: 3, bytes: 120 }, { plain: false }, false);
    expect(lines[0]).toBe('Top 1 IP Addr ordered by flows:');
    expect(lines[2]).toContain('        10.0.0.9        2(66.7)        2(66.7)       80(66.7)');
  });

  it('-n 0 prints every value and leaves the number out of the title', () => {
    const t = table('dstport', [flow({ dport: 1 }), flow({ dport: 2 }), flow({ dport: 3 })]);
    const lines = t.textReport(0, { flows: 3, packets: 3, bytes: 120 }, { plain: false }, false);
    expect(lines[0]).toBe('Top Dst Port ordered by flows:');
    expect(lines).toHaveLength(2 + 3 + 1);
  });

  it('computes pps, bps and bpp per value over its first-to-last span', () => {
    const flows = [
      flow({ src: '10.0.0.1', packets: 10, bytes: 1000, start: T0, end: T0 + 2000 }),
      flow({ src: '10.0.0.1', packets: 30, bytes: 3000, start: T0 + 1000, end: T0 + 4000 }),
    ];
    const row = table('srcip', flows).textReport(1, { flows: 2, packets: 40, bytes: 4000 }, { plain: false }, true)[0];
    // 40 packets and 4000 bytes over 4 s: 10 pps, 8000 bps, 100 bytes per packet.
    expect(row).toMatch(/ 00:00:04\.000 any +10\.0\.0\.1 +2\(100\.0\) +40\(100\.0\) +4000\(100\.0\) +10 +8000 +100$/);
  });

  it('prints csv and NDJSON statistics for scripts', async () => {
    const csv = await run({ stats: ['srcport/bytes'], topN: 1, format: 'csv' }, SECTION_5_3);
    expect(csv.slice(0, 2)).toEqual([
      'ts,te,td,pr,val,fl,flP,ipkt,ipktP,ibyt,ibytP,ipps,ibps,ibpp',
      '2027-01-13 12:45:34,2027-01-13 12:45:34,0.020,any,80,1,16.7,3,13.6,1120,42.1,150,448000,373',
    ]);
    const json = await run({ stats: ['proto/bytes'], topN: 1, format: 'json' }, SECTION_5_3);
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0])).toMatchObject({ type: 'STAT', element: 'proto', order: 'bytes', rank: 1, value: 6, flows: 2, bytes: 1338, bytes_pct: 50.3 });
  });

  it('rejects unknown elements and orders with the valid ones', () => {
    expect(() => parseStatSpec('srcipp')).toThrow(/^statistic "srcipp": unknown element "srcipp" \(use srcip, dstip, ip, /);
    expect(() => parseStatSpec('srcip/octets')).toThrow('statistic "srcip/octets": unknown order "octets" (use flows, packets, bytes, pps, bps, bpp)');
    expect(() => parseStatSpec('srcip:p')).toThrow('per-protocol statistics (":p") are not supported');
  });
});

describe('aggregation (-A)', () => {
  it('prints the -A proto layout and rows of collectors.md §5.7', async () => {
    const lines = await run({ aggregate: 'proto' }, SECTION_5_3);
    expect(lines[0]).toBe('Date first seen             Duration      Proto   Packets    Bytes      bps    Bpp Flows');
    // Aggregates come in first-seen order here, nfdump's in hash order: compare the rows as a set.
    expect(lines.slice(1, 4).sort()).toEqual([
      '2027-01-13 12:45:34.644     00:00:00.022  TCP           8     1338   486545    167     2',
      '2027-01-13 12:45:35.644     00:00:02.001  UDP           6      648     2590    108     2',
      '2027-01-13 12:45:39.644     00:00:03.000  ICMP          8      672     1792     84     2',
    ]);
    expect(lines[4]).toBe('Summary: total flows: 6, total bytes: 2658, total packets: 22, avg bps: 2658, avg pps: 2, avg bpp: 120');
  });

  it('builds nfdump\'s automatic layout from the fields, in the order given', () => {
    expect(compileLayout(aggregationLayout(parseAggregation('srcip,dstport')), { plain: false }).header).toBe(
      'Date first seen             Duration           Src IP Addr Dst Pt   Packets    Bytes      bps    Bpp Flows',
    );
    expect(compileLayout(aggregationLayout(parseAggregation('proto,srcport,dstip')), { plain: false }).header).toBe(
      'Date first seen             Duration      Proto Src Pt      Dst IP Addr   Packets    Bytes      bps    Bpp Flows',
    );
  });

  it('merges flows: sums counters, earliest first, latest last, ORs TCP flags, counts flows', () => {
    const agg = new Aggregator(parseAggregation('srcip,dstport'));
    agg.add(flow({ src: '10.0.0.1', dport: 443, packets: 3, bytes: 300, flags: 0x02, start: T0 + 500, end: T0 + 900 }));
    agg.add(flow({ src: '10.0.0.1', dport: 443, sport: 1, packets: 7, bytes: 700, flags: 0x11, start: T0, end: T0 + 600 }));
    agg.add(flow({ src: '10.0.0.2', dport: 443, packets: 1, bytes: 60 }));
    const [a, b] = agg.results();
    expect(agg.results()).toHaveLength(2);
    expect(a.flows).toBe(2);
    expect([a.rec.packets, a.rec.octets, a.rec.tcpFlags]).toEqual([10, 1000, 0x13]);
    expect(a.rec.startSec * 1000 + a.rec.startNsec / 1e6).toBe(T0);
    expect(a.rec.endSec * 1000 + a.rec.endNsec / 1e6).toBe(T0 + 900);
    // Fields outside the key are zero, as in nfdump's aggregated records.
    expect([a.rec.srcPort, a.rec.protocol, a.rec.dst[0]]).toEqual([0, 0, 0]);
    expect([b.flows, b.rec.packets]).toEqual([1, 1]);
  });

  it('masks addresses with srcip4/N and srcip6/N, each for its own family', () => {
    const agg = new Aggregator(parseAggregation('srcip4/24,srcip6/64'));
    agg.add(flow({ src: '192.168.170.8' }));
    agg.add(flow({ src: '192.168.170.56' }));
    agg.add(flow({ src: '2001:db8:0:1::5', dst: '2001:db8::1' }));
    agg.add(flow({ src: '2001:db8:0:1::6', dst: '2001:db8::1' }));
    agg.add(flow({ src: '2001:db8:0:2::6', dst: '2001:db8::1' }));
    const rows = agg.results().map((g) => compileLayout('%sa|%fl', { plain: false }).row(g.rec, g.flows));
    expect(rows).toEqual(['   192.168.170.0|    2', '  2001:db8:0:1::|    2', '  2001:db8:0:2::|    1']);
  });

  it('prints ICMP type.code only when the protocol is part of the key, as nfdump does', () => {
    const icmp = flow({ proto: 1, sport: 0, dport: 2048 });
    const withProto = new Aggregator(parseAggregation('proto,dstport'));
    const without = new Aggregator(parseAggregation('dstport'));
    withProto.add(icmp);
    without.add(icmp);
    expect(compileLayout('%dp', { plain: false }).row(withProto.results()[0].rec, 1)).toBe('   8.0');
    expect(compileLayout('%dp', { plain: false }).row(without.results()[0].rec, 1)).toBe('  2048');
  });

  it('rejects unknown fields and impossible prefixes', () => {
    expect(() => parseAggregation('srcip,foo')).toThrow(/^aggregation: unknown field "foo" \(use srcip, dstip, /);
    expect(() => parseAggregation('srcip4/33')).toThrow('aggregation "srcip4/33": prefix length must be 1..32');
  });
});
