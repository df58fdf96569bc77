import { describe, expect, it } from 'vitest';
import { FilterError } from '../../src/query/lexer.js';
import { planQuery, runQuery, type QueryOptions } from '../../src/query/run.js';
import { ArraySource, type RecordSource } from '../../src/query/source.js';
import { parseTimeWindow } from '../../src/query/window.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { flow, inUtc, queryLines } from './records.js';

/** A source that counts what it hands out, and can fail if it is read at all. */
class CountingSource implements RecordSource {
  served = 0;
  readonly bytesRead = 4242;
  constructor(
    private readonly records: FlowRecord[],
    private readonly mustNotRead = false,
  ) {}
  async forEach(cb: (rec: FlowRecord) => void | boolean): Promise<void> {
    if (this.mustNotRead) throw new Error('the source was read although the query was invalid');
    for (const r of this.records) {
      this.served++;
      if (cb(r) === false) return;
    }
  }
}


const utc = (s: string): number => Date.parse(s + 'Z');
const FLOWS = [
  flow({ proto: 6, dport: 80, start: utc('2026-11-24T19:42:47.790'), end: utc('2026-11-24T19:42:47.812') }),
  flow({ proto: 17, dport: 53, start: utc('2026-11-24T19:42:48.790'), end: utc('2026-11-24T19:42:50.790') }),
  flow({ proto: 6, dport: 443, start: utc('2026-11-24T19:42:50.000'), end: utc('2026-11-24T19:42:50.000') }),
  flow({ proto: 1, dport: 2048, start: utc('2026-11-24T19:42:52.790'), end: utc('2026-11-24T19:42:55.790') }),
];

inUtc();

describe('runQuery', () => {
  it('checks every option before it reads a single record', async () => {
    const bad: QueryOptions[] = [
      { filter: 'port 99999' },
      { format: 'xml' },
      { stats: ['bogus'] },
      { aggregate: 'srcip,nothing' },
      { window: '2026/11/24.25:00' },
      { stats: ['srcip'], aggregate: 'proto' },
      { stats: ['srcip'], format: 'long' },
      { limit: -1 },
    ];
    for (const opts of bad) {
      const src = new CountingSource(FLOWS, true);
      await expect(runQuery(opts, src, { write: () => true })).rejects.toThrow();
      expect(() => planQuery(opts)).toThrow();
    }
    await expect(runQuery({ filter: 'port 99999' }, new CountingSource(FLOWS, true), { write: () => true })).rejects.toBeInstanceOf(FilterError);
  });

  it('-c N stops reading once N flows have passed', async () => {
    const src = new CountingSource(FLOWS);
    const out = await queryLines({ limit: 1, filter: 'proto udp or proto icmp', quiet: true }, src);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(' UDP ');
    expect(src.served).toBe(2);
  });

  it('counts every record read as processed, and reports the source\'s bytes read', async () => {
    const out = await queryLines({ filter: 'proto tcp' }, new CountingSource(FLOWS));
    expect(out).toContain('Total flows processed: 4, passed: 2, Blocks skipped: 0, Bytes read: 4242');
  });

  it('-t keeps only flows wholly inside the window, and the footer shows the window', async () => {
    const out = await queryLines({ window: '2026/11/24.19:42:48-2026/11/24.19:42:50' }, new ArraySource(FLOWS));
    // The UDP flow ends at :50.790, after the end second, so only the zero-length flow at :50.000 is inside.
    expect(out.filter((l) => l.startsWith('2026-'))).toHaveLength(1);
    expect(out.find((l) => l.startsWith('2026-'))).toContain(':443');
    expect(out).toContain('Time window: 2026-11-24 19:42:48 - 2026-11-24 19:42:50');
  });

  it('a single -t time is a start with no end', async () => {
    const out = await queryLines({ window: '2026/11/24.19:42:48', quiet: true }, new ArraySource(FLOWS));
    expect(out).toHaveLength(3);
  });

  it('-s with no flow passing says so, then prints the empty table', async () => {
    const out = await queryLines({ stats: ['srcip'], filter: 'proto 99' }, new ArraySource(FLOWS));
    expect(out.slice(0, 4)).toEqual([
      'No matching flows',
      'Top 10 Src IP Addr ordered by flows:',
      'Date first seen                 Duration Proto       Src IP Addr    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp',
      '',
    ]);
  });

  it('an empty source gives nfdump\'s empty footer', async () => {
    const out = await queryLines({}, new ArraySource([]));
    expect(out.slice(0, 4)).toEqual([
      'Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows',
      'No matching flows',
      'Summary: total flows: 0, total bytes: 0, total packets: 0, avg bps: 0, avg pps: 0, avg bpp: 0',
      'Time window: Time Window unknown',
    ]);
  });

  it('-A with -o csv and json prints the merged records in those formats', async () => {
    const csv = await queryLines({ aggregate: 'proto', format: 'csv', quiet: true }, new ArraySource(FLOWS));
    expect(csv).toHaveLength(3);
    expect(csv[0].split(',')[7]).toBe('TCP');
    expect(csv[0].split(',')[12]).toBe('80'); // bytes of the two TCP flows
    const json = await queryLines({ aggregate: 'proto', format: 'json' }, new ArraySource(FLOWS));
    expect(JSON.parse(json[0])).toMatchObject({ proto: 6, flows: 2, in_packets: 2 });
  });

  it('-a merges on the 5-tuple', async () => {
    const twice = [...FLOWS, FLOWS[0]];
    const out = await queryLines({ aggregate: 'srcip,dstip,srcport,dstport,proto', quiet: true }, new ArraySource(twice));
    expect(out).toHaveLength(4);
    expect(out[0]).toMatch(/ 2$/);
  });
});

describe('time windows', () => {
  it('fill left-out parts with their smallest value, in local time', () => {
    expect(parseTimeWindow('2026/11/24')).toEqual({ startMs: utc('2026-11-24T00:00:00.000'), endMs: Infinity });
    expect(parseTimeWindow('2026/11/24.19:42-2026/11/24.20')).toEqual({
      startMs: utc('2026-11-24T19:42:00.000'),
      endMs: utc('2026-11-24T20:00:00.000'),
    });
    process.env.TZ = 'Europe/Zurich';
    expect(parseTimeWindow('2026/07/01.12:00:00').startMs).toBe(utc('2026-07-01T10:00:00.000'));
  });

  it('reject malformed times with the part that is wrong', () => {
    expect(() => parseTimeWindow('2026/11/24 19:00')).toThrow('"2026/11/24 19:00" is not yyyy/MM/dd.hh:mm:ss');
    expect(() => parseTimeWindow('2026/11/31.24:00')).toThrow('hour 24 is not 0..23');
    expect(() => parseTimeWindow('2026/11/24-2026/11/23')).toThrow('the end is before the start');
    expect(() => parseTimeWindow('+300')).toThrow('"+300" is not yyyy/MM/dd.hh:mm:ss');
  });
});
