/**
 * FlowExporter puts each record in a datagram whose sysUpTime window holds its times (v5/v9): a record from
 * before the probe's boot (a capture whose clock jumps back) gets a datagram of its own, with its own boot time,
 * whether it finds the open datagram full or not, and the next record goes back to the probe's boot. Read back
 * by flowcapd's session decoder, every record keeps its own start and end to the millisecond.
 */
import { describe, expect, it } from 'vitest';
import { FlowExporter } from '../../src/export/exporter.js';
import { Session, SharedBudget } from '../../src/collect/session.js';
import { FlowRecord } from '../../src/wire/record.js';
import { recordMs } from '../../src/wire/time.js';
import { SESSION_CONFIG, flow } from '../collect/messages.js';

const BOOT = 1_799_990_000_000;
const NOW = 1_800_000_000_000;

function roundTrip(version: 5 | 9, records: FlowRecord[]): { sent: number; got: [number, number, number][] } {
  const datagrams: Uint8Array[] = [];
  const e = new FlowExporter({ send: (d: Uint8Array) => void datagrams.push(d.slice()) }, { version });
  e.setClock(NOW, BOOT);
  for (const r of records) e.onFlow(r);
  e.flush();
  const got: [number, number, number][] = [];
  const s = new Session('t', version, { words: Uint32Array.of(0x7f000001, 0, 0, 0), version: 4 }, { ...SESSION_CONFIG, stampExporter: false }, new SharedBudget(1e6, 1e8), {
    onFlow: (r) => void got.push([r.src[0]! & 0xffff, recordMs(r, false), recordMs(r, true)]),
    onSuspect: (r) => void got.push([r.src[0]! & 0xffff, recordMs(r, false), recordMs(r, true)]),
  }, () => undefined);
  for (const d of datagrams) s.process(d, NOW);
  return { sent: datagrams.length, got };
}

describe('the exporter\'s sysUpTime windows', () => {
  it.each([5, 9] as const)('v%i: a record from before the probe\'s boot gets a datagram of its own, full datagram or not', (version) => {
    // Records 7-89 are from a day before the boot: the first gets a datagram with its own boot time, and the
    // others fit that datagram's window until it is full, when the next must get its own boot time again.
    const records: FlowRecord[] = [];
    const want: [number, number, number][] = [];
    for (let i = 0; i < 100; i++) {
      const start = i >= 7 && i < 90 ? BOOT - 86_400_000 + i : BOOT + 1000 + i * 10;
      const r = flow(i, start, 250);
      records.push(r);
      want.push([i, start, start + 250]);
    }
    const { sent, got } = roundTrip(version, records);
    expect(got).toEqual(want);
    expect(sent).toBeGreaterThan(1);
  });

  it.each([5, 9] as const)('v%i: records that end after the export clock read back with their own times, not 49.7 days earlier', (version) => {
    // A replay sets the export clock at each new second of the capture; flows that end later in that second are
    // exported under it. The header's sysUpTime must cover them, or a decoder takes them for pre-wrap uptimes.
    const records: FlowRecord[] = [];
    const want: [number, number, number][] = [];
    for (let i = 0; i < 40; i++) {
      const start = NOW - 2000 + 97 * i; // up to 1.8 s after the clock
      records.push(flow(i, start, 250));
      want.push([i, start, start + 250]);
    }
    expect(roundTrip(version, records).got).toEqual(want);
  });
});
