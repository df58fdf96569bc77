import { describe, expect, it } from 'vitest';
import { durationString, fixed1, flagsString, formatDate, protoName, scaled } from '../../src/query/format.js';
import { compileLayout, CSV_HEADER, csvRecord, FORMATS, jsonRecord, printerFor } from '../../src/query/output.js';
import type { QueryOptions } from '../../src/query/run.js';
import { ArraySource } from '../../src/query/source.js';
import { flow, inUtc, queryLines } from './records.js';

const plain = { plain: false };

/**
 * The six flows of collectors.md §5.5 (softflowd v5 export of a 22-packet capture, as nfdump 1.7.1 printed them),
 * so that the expected text below is nfdump's own, copied from the reference.
 */
const at = (s: string): number => Date.parse(s + 'Z');
const SECTION_5_5 = [
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, sport: 53000, dport: 53, packets: 3, bytes: 204, start: at('2026-11-24T19:42:48.790'), end: at('2026-11-24T19:42:50.790') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, sport: 53, dport: 53000, packets: 3, bytes: 444, start: at('2026-11-24T19:42:48.790'), end: at('2026-11-24T19:42:50.790') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 1, sport: 0, dport: 8 * 256, packets: 4, bytes: 336, start: at('2026-11-24T19:42:52.790'), end: at('2026-11-24T19:42:55.790') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 1, sport: 0, dport: 0, packets: 4, bytes: 336, start: at('2026-11-24T19:42:52.790'), end: at('2026-11-24T19:42:55.790') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 6, sport: 40000, dport: 80, flags: 0x1b, packets: 5, bytes: 218, start: at('2026-11-24T19:42:47.790'), end: at('2026-11-24T19:42:47.812') }),
  flow({ src: '127.0.0.1', dst: '127.0.0.1', proto: 6, sport: 80, dport: 40000, flags: 0x1b, packets: 3, bytes: 1120, start: at('2026-11-24T19:42:47.791'), end: at('2026-11-24T19:42:47.811') }),
];

function run(opts: QueryOptions): Promise<string[]> {
  return queryLines(opts, new ArraySource(SECTION_5_5));
}

inUtc();

describe('line and long output', () => {
  it('prints nfdump\'s headers byte for byte (collectors.md §2.2)', () => {
    expect(compileLayout(FORMATS.line, plain).header).toBe(
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows',
    );
    expect(compileLayout(FORMATS.long, plain).header).toBe(
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port     Flags Tos  Packets    Bytes Flows',
    );
    expect(compileLayout(FORMATS.extended, plain).header).toBe(
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port     Flags Tos  Packets    Bytes      pps      bps    Bpp Flows',
    );
  });

  it('prints the §5.5 flows, ICMP as type.code, and the summary exactly as nfdump did', async () => {
    const lines = await run({ format: 'long' });
    expect(lines.slice(0, 8)).toEqual([
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port     Flags Tos  Packets    Bytes Flows',
      '2026-11-24 19:42:48.790     00:00:02.000 UDP          127.0.0.1:53000 ->        127.0.0.1:53    ........   0        3      204     1',
      '2026-11-24 19:42:48.790     00:00:02.000 UDP          127.0.0.1:53    ->        127.0.0.1:53000 ........   0        3      444     1',
      '2026-11-24 19:42:52.790     00:00:03.000 ICMP         127.0.0.1:0     ->        127.0.0.1:8.0   ........   0        4      336     1',
      '2026-11-24 19:42:52.790     00:00:03.000 ICMP         127.0.0.1:0     ->        127.0.0.1:0.0   ........   0        4      336     1',
      '2026-11-24 19:42:47.790     00:00:00.022 TCP          127.0.0.1:40000 ->        127.0.0.1:80    ...AP.SF   0        5      218     1',
      '2026-11-24 19:42:47.791     00:00:00.020 TCP          127.0.0.1:80    ->        127.0.0.1:40000 ...AP.SF   0        3     1120     1',
      'Summary: total flows: 6, total bytes: 2658, total packets: 22, avg bps: 2658, avg pps: 2, avg bpp: 120',
    ]);
    expect(lines[8]).toBe('Time window: 2026-11-24 19:42:47 - 2026-11-24 19:42:55');
    expect(lines[9]).toBe('Total flows processed: 6, passed: 6, Blocks skipped: 0, Bytes read: 0');
    expect(lines[10]).toMatch(/^Sys: \d+\.\d{4}s User: \d+\.\d{4}s Wall: \d+\.\d{4}s flows\/second: \d+\.\d Runtime: \d+\.\d{4}s$/);
    expect(lines).toHaveLength(11);
  });

  it('prints nfdump\'s line for a filtered run (collectors.md §5.7, with the v5 times)', async () => {
    const lines = await run({ format: 'line', filter: 'proto tcp and dst port 80' });
    expect(lines.slice(0, 4)).toEqual([
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows',
      '2026-11-24 19:42:47.790     00:00:00.022 TCP          127.0.0.1:40000 ->        127.0.0.1:80           5      218     1',
      'Summary: total flows: 1, total bytes: 218, total packets: 5, avg bps: 79272, avg pps: 227, avg bpp: 43',
      'Time window: 2026-11-24 19:42:47 - 2026-11-24 19:42:55',
    ]);
    expect(lines[4]).toBe('Total flows processed: 6, passed: 1, Blocks skipped: 0, Bytes read: 0');
  });

  it('shortens IPv6 addresses to 16 columns and separates the port with "."', () => {
    const f = flow({ src: 'fe80::4dc7:f593:1f7b:dc11', dst: 'ff02::c', proto: 17, sport: 59537, dport: 1900, packets: 14, bytes: 2716 });
    const row = compileLayout(FORMATS.line, plain).row(f, 1);
    expect(row).toContain('UDP   fe80::4..7b:dc11.59537 ->          ff02::c.1900  ');
  });

  it('prints ICMPv6 type.code too', () => {
    const f = flow({ src: 'fe80::1', dst: 'ff02::1', proto: 58, sport: 0, dport: 134 * 256 });
    expect(compileLayout('%pr %dap|', plain).row(f, 1)).toBe('ICMP6          ff02::1.134.0|');
  });

  it('says "No matching flows" between header and footer when nothing passes', async () => {
    const lines = await run({ filter: 'proto 99' });
    expect(lines[1]).toBe('No matching flows');
    expect(lines[2]).toBe('Summary: total flows: 0, total bytes: 0, total packets: 0, avg bps: 0, avg pps: 0, avg bpp: 0');
  });

  it('-q leaves out header and footer', async () => {
    const lines = await run({ quiet: true, filter: 'proto udp' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^2026-11-24 19:42:48\.790 .* UDP /);
  });

  it('-N prints plain numbers, protocol numbers and durations in seconds', () => {
    const f = flow({ proto: 6, packets: 3_000_000, bytes: 2_782_627_000, start: 0, end: 1500 });
    expect(compileLayout('%td|%pr|%pkt|%byt', { plain: true }).row(f, 1)).toBe('           1.500|6    | 3000000|2782627000');
    expect(compileLayout('%td|%pr|%pkt|%byt', plain).row(f, 1)).toBe('    00:00:01.500|TCP  |   3.0 M|   2.8 G');
  });

  it('prints dates in local time (TZ), as nfdump does', () => {
    process.env.TZ = 'Asia/Kolkata';
    expect(formatDate(at('2026-11-24T19:42:47.790'))).toBe('2026-11-25 01:12:47.790');
    process.env.TZ = 'America/New_York';
    expect(formatDate(at('2026-07-01T12:00:00.005'), false)).toBe('2026-07-01 08:00:00');
  });

  it('rejects an unknown fmt tag with the list of known ones', () => {
    expect(() => printerFor('fmt:%ts %zz', plain)).toThrow(/^unknown format tag "%zz" \(known: %ts %te %td/);
    expect(() => printerFor('xml', plain)).toThrow('unknown output format "xml" (use line, long, extended, csv, json or fmt:<tags>)');
  });
});

describe('number and time text', () => {
  it('scales counters to M, G, T (powers of 1000) from a million up', () => {
    expect(scaled(999_999)).toBe('999999');
    expect(scaled(1_000_000)).toBe('1.0 M');
    expect(scaled(2_782_627)).toBe('2.8 M');
    expect(scaled(2_858_381)).toBe('2.9 M');
    expect(scaled(1_500_000_000)).toBe('1.5 G');
    expect(scaled(3e12)).toBe('3.0 T');
    expect(scaled(2_782_627, true)).toBe('2782627');
  });

  it('rounds one decimal as C printf does: exact ties to even', () => {
    expect(fixed1(2.25)).toBe('2.2');
    expect(fixed1(2.75)).toBe('2.8');
    expect(fixed1(0.25)).toBe('0.2');
    expect(fixed1(33.35)).toBe('33.4'); // 33.35 is not exact in binary: it lies above the tie
    expect(fixed1(100)).toBe('100.0');
    expect(scaled(2_250_000)).toBe('2.2 M');
  });

  it('prints durations as hh:mm:ss.mmm, with days from one day up', () => {
    expect(durationString(0)).toBe('    00:00:00.000');
    expect(durationString(22)).toBe('    00:00:00.022');
    expect(durationString(47_780)).toBe('    00:00:47.780');
    expect(durationString(89_206_051_107)).toBe('1032d 11:27:31.107');
    expect(durationString(86_400_000)).toBe(' 1d 00:00:00.000');
  });

  it('prints TCP flags as nfdump\'s eight letters CEUAPRSF', () => {
    expect(flagsString(0)).toBe('........');
    expect(flagsString(0x1b)).toBe('...AP.SF');
    expect(flagsString(0xff)).toBe('CEUAPRSF');
  });

  it('names protocols as nfdump does, and numbers the ones it has no name for', () => {
    expect([0, 1, 6, 17, 41, 47, 50, 58, 132, 137, 138, 255].map((p) => protoName(p))).toEqual([
      '0', 'ICMP', 'TCP', 'UDP', 'IPv6', 'GRE', 'ESP', 'ICMP6', 'SCTP', 'MPLS', '138', '255',
    ]);
  });
});

describe('csv output', () => {
  it('has nfdump 1.7.1\'s header and 48 columns per flow, ICMP as type*256+code', () => {
    expect(CSV_HEADER.split(',')).toHaveLength(48);
    const row = csvRecord(SECTION_5_5[2], plain).split(',');
    expect(row).toHaveLength(48);
    expect(row.slice(0, 13)).toEqual([
      '2026-11-24 19:42:52', '2026-11-24 19:42:55', '3.000', '127.0.0.1', '127.0.0.1', '0', '2048', 'ICMP', '........', '0', '0', '4', '336',
    ]);
  });

  it('prints IPv6 addresses in full and the VLAN ids in svln/dvln', () => {
    const f = flow({ src: '2001:470:1f11:81f:d138:5f55:6d4:1fe2', dst: '2607:f740:b::f93', proto: 17, vlan: 123, postVlan: 7 });
    const cols = csvRecord(f, plain).split(',');
    const at = (name: string): string => cols[CSV_HEADER.split(',').indexOf(name)];
    expect(at('sa')).toBe('2001:470:1f11:81f:d138:5f55:6d4:1fe2');
    expect(at('da')).toBe('2607:f740:b::f93');
    expect(at('svln')).toBe('123');
    expect(at('dvln')).toBe('7');
  });

  it('ends with nfdump\'s csv summary', async () => {
    const lines = await run({ format: 'csv' });
    expect(lines[0]).toBe(CSV_HEADER);
    expect(lines.slice(-3)).toEqual(['Summary', 'flows,bytes,packets,avg_bps,avg_pps,avg_bpp', '6,2658,22,2658,2,120']);
  });
});

describe('json output', () => {
  it('is NDJSON: one object per flow per line, no header, no footer', async () => {
    const lines = await run({ format: 'json' });
    expect(lines).toHaveLength(6);
    const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs[4]).toMatchObject({
      type: 'FLOW', first: '2026-11-24T19:42:47.790', last: '2026-11-24T19:42:47.812', in_packets: 5, in_bytes: 218,
      proto: 6, tcp_flags: '...AP.SF', src_port: 40000, dst_port: 80, src4_addr: '127.0.0.1', dst4_addr: '127.0.0.1',
    });
    expect(objs[2]).toMatchObject({ proto: 1, icmp_type: 8, icmp_code: 0 });
    expect(objs[2]).not.toHaveProperty('dst_port');
  });

  it('names IPv6 addresses src6_addr/dst6_addr', () => {
    const o = JSON.parse(jsonRecord(flow({ src: '2001:db8::1', dst: '2001:db8::2' }), null)) as Record<string, unknown>;
    expect(o.src6_addr).toBe('2001:db8::1');
    expect(o.dst6_addr).toBe('2001:db8::2');
    expect(o).not.toHaveProperty('flows');
  });
});
