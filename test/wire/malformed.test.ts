/**
 * Decoding what other exporters send and what nobody should: hand-built messages with enterprise, variable-length
 * and reduced-size fields, withdrawals, and every kind of malformation. Decoders must report an error code and
 * never throw.
 */
import { describe, expect, it } from 'vitest';
import { WireError, wireErrorName } from '../../src/wire/errors.js';
import { IE, VARLEN } from '../../src/wire/ie.js';
import { IpfixEncoder, IpfixHeader, walkIpfix } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { IPFIX, SetResult, Template, V9, decodeFlowSet, parseTemplateSet, type SetVisitor } from '../../src/wire/template.js';
import { TimeBase } from '../../src/wire/time.js';
import { V5Encoder, V5Header, decodeV5 } from '../../src/wire/v5.js';
import { V9Encoder, V9Header, walkV9 } from '../../src/wire/v9.js';
import { collect } from './collect.js';
import { BOOT_MS, sampleRecords } from './fixtures.js';

/** Big-endian byte builder. */
class B {
  bytes: number[] = [];
  u8(...v: number[]): this {
    for (const x of v) this.bytes.push(x & 255);
    return this;
  }
  u16(...v: number[]): this {
    for (const x of v) this.u8(x >>> 8, x);
    return this;
  }
  u32(...v: number[]): this {
    for (const x of v) this.u16(x >>> 16, x);
    return this;
  }
  raw(b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  get length(): number {
    return this.bytes.length;
  }
}

function set(id: number, body: B): B {
  return new B().u16(id, 4 + body.length).raw(body.bytes);
}

function ipfixMessage(...sets: B[]): Uint8Array {
  const body = sets.flatMap((s) => s.bytes);
  return Uint8Array.from(new B().u16(10, 16 + body.length).u32(1795549367, 0, 0).raw(body).bytes);
}

function v9Message(...sets: B[]): Uint8Array {
  const body = sets.flatMap((s) => s.bytes);
  return Uint8Array.from(new B().u16(9, 1).u32(1000, 1795549367, 0, 0).raw(body).bytes);
}

function recorder(): SetVisitor & { templates: Template[]; withdrawn: number[]; errors: string[]; data: number[] } {
  const r = {
    templates: [] as Template[],
    withdrawn: [] as number[],
    errors: [] as string[],
    data: [] as number[],
    onTemplate: (t: Template) => r.templates.push(t),
    onWithdraw: (id: number) => r.withdrawn.push(id),
    onDataSet: (id: number) => r.data.push(id),
    onError: (code: number) => r.errors.push(wireErrorName(code)),
  };
  return r;
}

describe('IPFIX fields from other exporters', () => {
  // Template 300: reduced-size counters, an unknown enterprise field, a variable-length string, an address, an
  // oversize interface index we cannot take (8 bytes), and 64-bit dateTimeMilliseconds.
  const template = new B()
    .u16(300, 7)
    .u16(IE.octetDeltaCount, 2)
    .u16(IE.packetDeltaCount, 1)
    .u16(0x8000 | 42, 4).u32(9999) // enterprise 9999, element 42: unknown, skipped by length
    .u16(IE.interfaceName, VARLEN)
    .u16(IE.sourceIPv4Address, 4)
    .u16(IE.ingressInterface, 8)
    .u16(IE.flowStartMilliseconds, 8);
  const record = (octets: number, pkts: number, name: number[], lenPrefix: number[]): B =>
    new B().u16(octets).u8(pkts).u32(0xdeadbeef).raw(lenPrefix).raw(name).u32(0xc0000201).u32(0, 77).u32(0x1a2, 0x3b4c5d6e);

  it('decodes reduced-size integers, skips unknown PEN and variable-length fields, both length prefixes', () => {
    const long = Array(300).fill(0x41);
    const data = new B().raw(record(1500, 3, [0x65, 0x74, 0x68], [3]).bytes).raw(record(65535, 255, long, [255, 1, 44]).bytes);
    const msg = ipfixMessage(set(2, template), set(300, data));
    const got = collect(10, [msg]);
    expect(got.errors).toEqual([]);
    expect(got.templates[0].fields[2]).toEqual({ id: 42, pen: 9999, length: 4 });
    expect(got.templates[0].fixedLength).toBe(-1);
    expect(got.flows.map((f) => [f.octets, f.packets, f.src[0], f.inputIf, f.startSec, f.startNsec])).toEqual([
      [1500, 3, 0xc0000201, 0, Math.floor((0x1a2 * 2 ** 32 + 0x3b4c5d6e) / 1000), ((0x1a2 * 2 ** 32 + 0x3b4c5d6e) % 1000) * 1e6],
      [65535, 255, 0xc0000201, 0, Math.floor((0x1a2 * 2 ** 32 + 0x3b4c5d6e) / 1000), ((0x1a2 * 2 ** 32 + 0x3b4c5d6e) % 1000) * 1e6],
    ]);
  });

  it('reports a variable-length prefix that runs past the set, after delivering the records before it', () => {
    const data = new B().raw(record(1, 1, [0x61], [1]).bytes).u16(5).u8(1).u32(0).u8(200).raw(Array(30).fill(7));
    const got = collect(10, [ipfixMessage(set(2, template), set(300, data))]);
    expect(got.flows.length).toBe(1);
    expect(got.errors.map(wireErrorName)).toEqual(['RECORD_TRUNCATED']);
  });

  it('applies withdrawals in wire order, including withdraw-all (ID 2 / 3)', () => {
    const t = new B().u16(400, 1).u16(IE.octetDeltaCount, 4);
    const msg = ipfixMessage(set(2, new B().raw(t.bytes).u16(400, 0).u16(2, 0)), set(3, new B().u16(3, 0)));
    const r = recorder();
    expect(walkIpfix(msg, new IpfixHeader(), r)).toBe(WireError.OK);
    expect(r.templates.map((x) => x.id)).toEqual([400]);
    expect(r.withdrawn).toEqual([400, 2, 3]);
    expect(r.errors).toEqual([]);
  });

  it('treats a v9 field length of 65535 as variable length (a literal 65535-byte field cannot fit a datagram)', () => {
    const t = new B().u16(260, 2).u16(IE.octetDeltaCount, 4).u16(IE.interfaceName, VARLEN);
    const data = new B().u32(1234).u8(2, 0x65, 0x30).u8(0);
    const got = collect(9, [v9Message(set(0, t), set(260, data))]);
    expect(got.errors).toEqual([]);
    expect(got.flows.map((f) => f.octets)).toEqual([1234]);
  });

  it('reads v9 options templates whether each record or only the set is padded', () => {
    const opt = (id: number): B => new B().u16(id, 4, 8).u16(1, 4).u16(IE.samplingInterval, 4).u16(IE.samplingAlgorithm, 1);
    const padded = new B().raw(opt(256).bytes).u16(0).raw(opt(257).bytes).u16(0);
    const packed = new B().raw(opt(258).bytes).raw(opt(259).bytes);
    const r = recorder();
    walkV9(v9Message(set(1, padded), set(1, packed)), new V9Header(), r);
    expect(r.errors).toEqual([]);
    expect(r.templates.map((t) => [t.id, t.options, t.scopeCount, t.fields.length])).toEqual([
      [256, true, 1, 3],
      [257, true, 1, 3],
      [258, true, 1, 3],
      [259, true, 1, 3],
    ]);
  });
});

describe('malformed templates and sets are reported, not thrown', () => {
  const cases: [string, 9 | 10, B[], string[]][] = [
    ['template ID below 256', 10, [set(2, new B().u16(255, 1).u16(1, 4))], ['BAD_TEMPLATE_ID']],
    ['v9 template with no fields', 9, [set(0, new B().u16(300, 0))], ['BAD_FIELD_COUNT']],
    ['IPFIX withdrawal of a reserved ID', 10, [set(2, new B().u16(7, 0))], ['BAD_WITHDRAWAL']],
    ['options template with scope count 0', 10, [set(3, new B().u16(300, 1, 0).u16(1, 4))], ['BAD_SCOPE']],
    ['scope count above field count', 10, [set(3, new B().u16(300, 1, 2).u16(1, 4))], ['BAD_SCOPE']],
    ['v9 scope length not whole fields', 9, [set(1, new B().u16(300, 6, 4).u16(1, 4, 34, 4))], ['BAD_SCOPE']],
    ['template runs past its set', 10, [set(2, new B().u16(300, 3).u16(1, 4, 2, 4))], ['TEMPLATE_TRUNCATED']],
    ['enterprise number cut off', 10, [set(2, new B().u16(300, 1).u16(0x8001, 4).u16(0))], ['TEMPLATE_TRUNCATED']],
    ['only zero-length fields', 10, [set(2, new B().u16(300, 2).u16(1, 0, 2, 0))], ['BAD_FIELD_LENGTH']],
    ['absurd field count', 10, [set(2, new B().u16(300, 5000).u16(1, 4))], ['BAD_FIELD_COUNT']],
    ['reserved set ID, then a good set', 10, [set(5, new B().u32(0)), set(2, new B().u16(300, 1).u16(1, 4))], ['RESERVED_SET_ID']],
  ];
  it.each(cases)('%s', (_n, version, sets, errors) => {
    const msg = version === 9 ? v9Message(...sets) : ipfixMessage(...sets);
    const r = recorder();
    expect(version === 9 ? walkV9(msg, new V9Header(), r) : walkIpfix(msg, new IpfixHeader(), r)).toBe(WireError.OK);
    expect(r.errors).toEqual(errors);
  });

  it('stops at a set whose length is impossible', () => {
    for (const len of [0, 3, 1000]) {
      const body = [...new B().u16(256, len).u32(1, 2).bytes];
      const msg = ipfixMessage(new B().raw(body));
      const r = recorder();
      walkIpfix(msg, new IpfixHeader(), r);
      expect(r.errors).toEqual(['BAD_SET_LENGTH']);
      expect(r.data).toEqual([]);
    }
  });

  it('rejects bad headers', () => {
    const r = recorder();
    expect(walkIpfix(new Uint8Array(10), new IpfixHeader(), r)).toBe(WireError.SHORT_HEADER);
    expect(walkV9(new Uint8Array(19), new V9Header(), r)).toBe(WireError.SHORT_HEADER);
    const m = ipfixMessage();
    expect(walkV9(m.length < 20 ? Uint8Array.from([...m, 0, 0, 0, 0]) : m, new V9Header(), r)).toBe(WireError.BAD_VERSION);
    const long = ipfixMessage();
    new DataView(long.buffer).setUint16(2, 100);
    expect(walkIpfix(long, new IpfixHeader(), r)).toBe(WireError.BAD_LENGTH);
    const v5 = new V5Encoder();
    v5.beginMessage(BOOT_MS, BOOT_MS);
    v5.addRecord(sampleRecords()[0]);
    const d = Uint8Array.from(v5.finish());
    new DataView(d.buffer).setUint16(2, 2); // claims 2 records, has 1
    let n = 0;
    expect(decodeV5(d, new V5Header(), new FlowRecord(), { onFlow: () => n++ })).toBe(WireError.BAD_LENGTH);
    expect(n).toBe(0);
  });

  it('refuses to decode with a template whose records could be empty', () => {
    const t = new Template(10, 300, [{ id: 1, pen: 0, length: 0 }]);
    const res = new SetResult();
    const dv = new DataView(new ArrayBuffer(8));
    expect(decodeFlowSet(dv, 0, 8, t, new TimeBase(), new FlowRecord(), { onFlow: () => undefined }, res)).toBe(
      WireError.BAD_FIELD_LENGTH,
    );
    expect(parseTemplateSet(V9, dv, 0, 0, false, recorder())).toBe(WireError.OK);
    expect(IPFIX.templateSetId).toBe(2);
  });
});

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('truncated and mutated real messages never throw', () => {
  const recs = sampleRecords();
  const messages: [string, Uint8Array][] = [];
  const v5 = new V5Encoder();
  v5.beginMessage(BOOT_MS + 5000, BOOT_MS);
  for (const r of recs) v5.addRecord(r);
  messages.push(['v5', Uint8Array.from(v5.finish())]);
  for (const [name, enc] of [
    ['v9', new V9Encoder({ mac: true, mplsLabels: 2 })],
    ['ipfix', new IpfixEncoder({ biflow: true, time: 'uptime' })],
  ] as const) {
    enc.beginMessage(BOOT_MS + 5000, BOOT_MS);
    enc.addTemplates();
    for (const r of recs) enc.addRecord(r);
    messages.push([name, Uint8Array.from(enc.finish())]);
  }

  function decodeAny(name: string, m: Uint8Array): number {
    if (name === 'v5') {
      let n = 0;
      decodeV5(m, new V5Header(), new FlowRecord(), { onFlow: () => n++ });
      return n;
    }
    return collect(name === 'v9' ? 9 : 10, [m]).flows.length;
  }

  it.each(messages)('%s: every truncation', (name, m) => {
    const full = decodeAny(name, m);
    expect(full).toBe(name === 'v5' ? 6 : recs.length);
    for (let len = 0; len < m.length; len++) {
      const n = decodeAny(name, m.subarray(0, len));
      expect(n).toBeLessThanOrEqual(full);
    }
  });

  it.each(messages)('%s: 3000 random mutations', (name, m) => {
    const rand = rng(name.length * 7919);
    for (let i = 0; i < 3000; i++) {
      const c = Uint8Array.from(m);
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) c[Math.floor(rand() * c.length)] = Math.floor(rand() * 256);
      expect(() => decodeAny(name, c)).not.toThrow();
    }
  });
});
