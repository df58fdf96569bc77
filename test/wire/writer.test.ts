import { describe, expect, it } from 'vitest';
import { IpfixEncoder } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { templateIndex, type EncoderOptions, type MessageEncoder } from '../../src/wire/template.js';
import { V9Encoder } from '../../src/wire/v9.js';
import { BOOT_MS, sampleRecords } from './fixtures.js';

const EXPORT_MS = BOOT_MS + 90_000_123;

/** Values a field may hold that its width cannot: saturated or zeroed, never wrapped (bytes.ts writeUnsigned). */
const EDGES = [-1, Number.NaN, 0.75, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 0.5, 255.5, 256, 65535.9, 65536];

function edgeRecords(): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (const base of sampleRecords()) {
    for (const v of EDGES) {
      const r = new FlowRecord();
      r.copyFrom(base);
      r.octets = v;
      r.packets = EDGES[(EDGES.indexOf(v) + 3) % EDGES.length]!;
      r.revOctets = v;
      r.srcPort = v;
      r.tos = v;
      r.vlan = v;
      r.direction = v;
      out.push(r);
    }
  }
  return out;
}

/** The data record the encoder wrote last, and the same record written field by field through its codecs. */
function lastRecordBothWays(enc: MessageEncoder, r: FlowRecord): [number[], number[]] {
  const msg = enc.finish();
  const t = enc.templates[templateIndex(r)]!;
  const plan = t.flowPlan();
  // The record ends its set: before any padding, fixedLength bytes.
  const setLen = new DataView(msg.buffer, msg.byteOffset).getUint16(enc.flavor.headerLength + 2);
  const setEnd = enc.flavor.headerLength + setLen;
  let end = setEnd;
  while ((end - enc.flavor.headerLength - 4) % t.fixedLength !== 0) end--;
  const written = [...msg.subarray(end - t.fixedLength, end)];
  const buf = new Uint8Array(t.fixedLength);
  const dv = new DataView(buf.buffer);
  let off = 0;
  plan.codecs.forEach((c, i) => {
    c!.enc(dv, off, plan.lens[i]!, r, enc.timeBase);
    off += plan.lens[i]!;
  });
  return [written, [...buf]];
}

describe('compiled record writers', () => {
  const cases: [string, () => MessageEncoder][] = [
    ['v9', () => new V9Encoder()],
    ['v9 vlan + mpls', () => new V9Encoder({ vlan: true, mplsLabels: 2 })],
    ['ipfix biflow + mac', () => new IpfixEncoder({ biflow: true, mac: true })],
    ...(['sec', 'milli', 'micro', 'nano', 'uptime'] as const).map(
      (time): [string, () => MessageEncoder] => [`ipfix ${time}`, () => new IpfixEncoder({ time } as EncoderOptions)],
    ),
  ];
  for (const [name, make] of cases) {
    it(`${name}: write each record byte for byte as its fields' codecs do, out-of-range values included`, () => {
      for (const r of edgeRecords()) {
        const enc = make();
        enc.beginMessage(EXPORT_MS, BOOT_MS);
        expect(enc.addRecord(r)).toBe(true);
        const [written, byCodecs] = lastRecordBothWays(enc, r);
        expect(written).toEqual(byCodecs);
      }
    });
  }
});

describe('the template block', () => {
  const cases: [string, () => MessageEncoder][] = [
    ['v9', () => new V9Encoder()],
    ['v9 vlan + mpls, sampled', () => new V9Encoder({ vlan: true, mplsLabels: 2, samplingInterval: 10 })],
    ['ipfix', () => new IpfixEncoder()],
    ['ipfix biflow + mac, uptime times', () => new IpfixEncoder({ biflow: true, mac: true, time: 'uptime' })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: copied into later messages, is the same bytes the first message wrote field by field`, () => {
      const enc = make();
      const rec = sampleRecords()[0]!;
      const messages: number[][] = [];
      for (let i = 0; i < 3; i++) {
        enc.beginMessage(EXPORT_MS, BOOT_MS);
        expect(enc.addTemplates()).toBe(true);
        expect(enc.addRecord(rec)).toBe(true);
        messages.push([...enc.finish()]);
      }
      // The headers differ in their sequence numbers: compare version and count (v9) or length (IPFIX), and
      // everything from the first set on.
      const sets = messages.map((m) => m.slice(enc.flavor.headerLength));
      for (const i of [1, 2]) {
        expect(messages[i]!.slice(0, 4)).toEqual(messages[0]!.slice(0, 4));
        expect(sets[i]).toEqual(sets[0]);
      }
    });
  }
});
