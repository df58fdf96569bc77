import { describe, expect, it } from 'vitest';
import { Session, SharedBudget, TimeFault, type SessionConfig } from '../../src/collect/session.js';
import { IE, OptionsRecord } from '../../src/wire/ie.js';
import { Template, type TemplateField } from '../../src/wire/template.js';
import { IpfixEncoder } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { V5Encoder } from '../../src/wire/v5.js';
import { V9Encoder } from '../../src/wire/v9.js';
import {
  IPFIX,
  SESSION_CONFIG,
  V9,
  dataSet,
  flow,
  foreignDataSet,
  ipfixMessage,
  layoutA,
  layoutB,
  layoutForeign,
  optionsDataSet,
  samplingOptionsTemplate,
  set,
  templateSet,
  v9Message,
  withdrawalSet,
} from './messages.js';

const NOW = 1_800_000_000_000;

const BASE: SessionConfig = SESSION_CONFIG;

function copy(r: FlowRecord): FlowRecord {
  const c = new FlowRecord();
  c.copyFrom(r);
  return c;
}

function mk(over: Partial<SessionConfig> = {}, version = 10, budget = new SharedBudget(1e6, 1e8)) {
  const flows: FlowRecord[] = [];
  const suspect: [FlowRecord, number][] = [];
  const logs: string[] = [];
  const exporter = { words: Uint32Array.of(0x7f000001, 0, 0, 0), version: 4 };
  const s = new Session('test', version, exporter, { ...BASE, ...over }, budget, {
    onFlow: (r) => flows.push(copy(r)),
    onSuspect: (r, f) => suspect.push([copy(r), f]),
  }, (l) => logs.push(l));
  return { s, flows, suspect, logs };
}

const srcs = (rs: FlowRecord[]): number[] => rs.map((r) => r.src[0] & 0xffff);

describe('data before its template', () => {
  it('is held, then decoded in arrival order when the template comes, before the rest of that message', () => {
    const { s, flows } = mk();
    const t = layoutA(10, 300);
    s.process(ipfixMessage(0, [dataSet(t, [flow(1), flow(2)])]), NOW);
    s.process(ipfixMessage(2, [dataSet(t, [flow(3)])]), NOW + 10);
    expect(flows).toHaveLength(0);
    expect(s.pendingSets).toBe(2);
    s.process(ipfixMessage(3, [templateSet(IPFIX, [t]), dataSet(t, [flow(4)])]), NOW + 20);
    expect(srcs(flows)).toEqual([1, 2, 3, 4]);
    expect(flows[2].packets).toBe(4);
    const c = s.counters;
    expect([c.unknownTemplateSets, c.replayedSets, c.expiredSets, c.droppedSets]).toEqual([2, 2, 0, 0]);
    expect(s.pendingSets).toBe(0);
  });

  it('works for NetFlow v9 too, decoding held sets with the time base of the packet they came in', () => {
    const { s, flows } = mk({}, 9);
    const t = layoutA(9, 260);
    s.process(v9Message(0, [dataSet(t, [flow(1)])]), NOW);
    s.process(v9Message(1, [templateSet(V9, [t])]), NOW);
    expect(srcs(flows)).toEqual([1]);
    expect(flows[0].startSec).toBe(1_799_999_000);
    expect(s.counters.sequenceErrors).toBe(0);
  });

  it('expires after the configured age, is counted, and is not replayed by a later template', () => {
    const { s, flows, logs } = mk({ maxPendingAgeMs: 5000 });
    const t = layoutA(10, 300);
    s.process(ipfixMessage(0, [dataSet(t, [flow(1)])]), NOW);
    s.expire(NOW + 4000);
    expect(s.counters.expiredSets).toBe(0);
    s.expire(NOW + 5001);
    expect(s.counters.expiredSets).toBe(1);
    s.process(ipfixMessage(1, [templateSet(IPFIX, [t])]), NOW + 6000);
    expect(flows).toHaveLength(0);
    expect(logs.some((l) => /expired after 5 s/.test(l))).toBe(true);
  });

  it('is bounded per session by count (oldest dropped first) and overall by bytes', () => {
    const { s, flows } = mk({ maxPendingSets: 2 });
    const t = layoutA(10, 300);
    for (let i = 0; i < 5; i++) s.process(ipfixMessage(i, [dataSet(t, [flow(i)])]), NOW + i);
    expect(s.pendingSets).toBe(2);
    expect(s.counters.droppedSets).toBe(3);
    s.process(ipfixMessage(9, [templateSet(IPFIX, [t])]), NOW + 9);
    expect(srcs(flows)).toEqual([3, 4]);

    const budget = new SharedBudget(1e6, 100);
    const a = mk({}, 10, budget);
    const b = mk({}, 10, budget);
    a.s.process(ipfixMessage(0, [dataSet(t, [flow(1), flow(2)])]), NOW); // 66 bytes
    b.s.process(ipfixMessage(0, [dataSet(t, [flow(3), flow(4)])]), NOW);
    expect(budget.pendingBytes).toBeLessThanOrEqual(100);
    expect(a.s.pendingSets + b.s.pendingSets).toBe(1);
    expect(b.s.counters.droppedSets).toBe(1);
  });
});

describe('templates in wire order', () => {
  it('a template set resent byte for byte has exactly the effects of parsing it again', () => {
    const a = layoutA(10, 300);
    const b = layoutB(10, 301);
    const opt = samplingOptionsTemplate(400);
    const o = new OptionsRecord();
    o.samplingPacketInterval = 1;
    o.samplingPacketSpace = 9;
    const same = templateSet(IPFIX, [a, b]);
    const messages = [
      [same, templateSet(IPFIX, [opt], true), optionsDataSet(opt, o), dataSet(a, [flow(1)]), dataSet(b, [flow(2)])],
      [same, dataSet(a, [flow(3), flow(4)]), dataSet(b, [flow(5)])],
      [same, templateSet(IPFIX, [opt], true), dataSet(a, [flow(6)]), dataSet(b, [flow(7)])],
      // A withdrawal between two equal sets: the second defines 300 again.
      [withdrawalSet([300]), dataSet(a, [flow(8)]), same, dataSet(a, [flow(9)])],
      // A redefinition (other bytes), then the first set again: each takes effect for the data after it.
      [templateSet(IPFIX, [layoutB(10, 300), b]), dataSet(a, [flow(10)]), same, dataSet(a, [flow(11)])],
      [same, same, dataSet(a, [flow(12)]), dataSet(b, [flow(13)])],
    ];
    const run = (parseEveryTime: boolean) => {
      const m = mk();
      // Without the session's own templateSet, the walk parses every set (the reference behaviour).
      if (parseEveryTime) Object.defineProperty(m.s, 'templateSet', { value: undefined });
      let seq = 0;
      for (const sets of messages) {
        m.s.process(ipfixMessage(seq, sets), NOW);
        seq += 10;
      }
      return { flows: m.flows.map((r) => [r.src[0], r.dst[0], r.packets, r.octets]), counters: m.s.counters, templates: m.s.templateCount };
    };
    const cached = run(false);
    expect(cached).toEqual(run(true));
    expect(cached.counters.templates).toBe(18);
    expect(cached.counters.templatesRedefined).toBe(2);
    expect(cached.flows).toHaveLength(13);
    expect(cached.flows[0][2]).toBe(flow(1).packets * 10);
  });

  it('an options data set resent byte for byte has exactly the effects of decoding it again', () => {
    const f = (id: number, length: number): TemplateField => ({ id, pen: 0, length });
    // Relative times: the data's times depend on the uptime base (IE 160) the options give.
    const data = new Template(10, 300, [
      f(IE.sourceIPv4Address, 4), f(IE.packetDeltaCount, 4), f(IE.octetDeltaCount, 4), f(IE.flowStartSysUpTime, 4), f(IE.flowEndSysUpTime, 4),
    ]);
    const opt = new Template(10, 400, [
      f(IE.meteringProcessId, 4), f(IE.samplingPacketInterval, 4), f(IE.samplingPacketSpace, 4), f(IE.systemInitTimeMilliseconds, 8),
    ], true, 1);
    const rec = (interval: number, space: number, initMs: number): Uint8Array => {
      const o = new OptionsRecord();
      o.samplingPacketInterval = interval;
      o.samplingPacketSpace = space;
      o.systemInitTimeMs = initMs;
      return optionsDataSet(opt, o).subarray(4);
    };
    const opts = (...records: Uint8Array[]): Uint8Array => set(400, Uint8Array.from(records.flatMap((r) => [...r])));
    // A second options template with the same layout: sets of the two alternating each find their own last one.
    const opt2 = new Template(10, 401, opt.fields, true, 1);
    const other = (...records: Uint8Array[]): Uint8Array => set(401, Uint8Array.from(records.flatMap((r) => [...r])));
    const rate10 = opts(rec(1, 9, NOW - 10_000_000));
    // Two records: the second's rate and base are the ones in force after it.
    const rate4 = opts(rec(1, 0, NOW - 30_000_000), rec(1, 3, NOW - 20_000_000));
    const nothing = opts(rec(0, 0, 0));
    const messages = [
      [templateSet(IPFIX, [data]), templateSet(IPFIX, [opt], true), rate10, dataSet(data, [flow(1)])],
      [rate10, dataSet(data, [flow(2)])],
      [rate4, dataSet(data, [flow(3)])],
      [rate4, rate4, dataSet(data, [flow(4)])],
      [nothing, dataSet(data, [flow(5)])],
      [rate10, dataSet(data, [flow(6)]), nothing],
      [templateSet(IPFIX, [opt], true), rate4, dataSet(data, [flow(7)])],
      [templateSet(IPFIX, [opt2], true), other(rec(1, 1, NOW - 40_000_000)), dataSet(data, [flow(8)])],
      [rate4, dataSet(data, [flow(9)]), other(rec(1, 1, NOW - 40_000_000)), dataSet(data, [flow(10)])],
    ];
    const run = (decodeEveryTime: boolean) => {
      const m = mk();
      if (decodeEveryTime) {
        // Forgetting the last set before each one makes the session decode every set (the reference behaviour).
        const s = m.s as unknown as { decodeOptions: (slot: { options: unknown }, ...rest: unknown[]) => number };
        const decode = s.decodeOptions;
        s.decodeOptions = function (slot, ...rest) {
          slot.options = null;
          return decode.call(this, slot, ...rest);
        };
      }
      let seq = 0;
      for (const sets of messages) m.s.process(ipfixMessage(seq++, sets), NOW);
      return {
        flows: m.flows.map((r) => [r.src[0], r.packets, r.octets, r.startSec, r.startNsec, r.endSec, r.endNsec]),
        counters: m.s.counters,
      };
    };
    const cached = run(false);
    expect(cached).toEqual(run(true));
    expect(cached.counters.optionsRecords).toBe(17);
    expect(cached.flows.map((r) => r[1])).toEqual([2 * 10, 3 * 10, 4 * 4, 5 * 4, 6 * 4, 7 * 10, 8 * 4, 9 * 2, 10 * 4, 11 * 2]);
    // Times placed by the uptime base of the last options record before them.
    expect(new Set(cached.flows.map((r) => r[3])).size).toBeGreaterThan(2);
  });

  it('define, data, withdraw, data: the first set is decoded, the second waits for the next definition', () => {
    const { s, flows } = mk();
    const a = layoutA(10, 300);
    const b = layoutB(10, 300);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [a]), dataSet(a, [flow(1)]), withdrawalSet([300]), dataSet(a, [flow(2)])]), NOW);
    expect(srcs(flows)).toEqual([1]);
    expect(s.counters.templatesWithdrawn).toBe(1);
    expect(s.counters.unknownTemplateSets).toBe(1);
    expect(s.templateCount).toBe(0);
    // The held bytes were written with layout A; the new definition (B) is what the exporter says they are.
    s.process(ipfixMessage(2, [templateSet(IPFIX, [b])]), NOW);
    expect(flows).toHaveLength(2);
    expect(flows[1].src[0]).toBe(flow(2).dst[0]);
    expect(flows[1].dst[0]).toBe(flow(2).src[0]);
    expect(flows[1].packets).toBe(flow(2).octets);
  });

  it('a redefinition replaces the template for the data after it, and is counted; a refresh is not', () => {
    const { s, flows } = mk();
    const a = layoutA(10, 300);
    const b = layoutB(10, 300);
    const r = flow(5);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [a]), dataSet(a, [r]), templateSet(IPFIX, [a]), dataSet(a, [r])]), NOW);
    expect(s.counters.templatesRedefined).toBe(0);
    s.process(ipfixMessage(2, [templateSet(IPFIX, [b]), dataSet(b, [r])]), NOW);
    expect(s.counters.templatesRedefined).toBe(1);
    expect(flows).toHaveLength(3);
    for (const f of flows) {
      expect([f.src[0], f.dst[0], f.packets, f.octets]).toEqual([r.src[0], r.dst[0], r.packets, r.octets]);
    }
  });

  it('withdrawal of all templates (ID 2) keeps options templates; ID 3 withdraws those', () => {
    const { s } = mk();
    const opt = samplingOptionsTemplate(400);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [layoutA(10, 300), layoutB(10, 301)]), templateSet(IPFIX, [opt], true)]), NOW);
    expect(s.templateCount).toBe(3);
    s.process(ipfixMessage(0, [withdrawalSet([2])]), NOW);
    expect(s.templateCount).toBe(1);
    s.process(ipfixMessage(0, [withdrawalSet([3], true)]), NOW);
    expect(s.templateCount).toBe(0);
  });

  it('skips enterprise and variable-length fields by length and reads reduced-size counters', () => {
    const { s, flows } = mk();
    const t = layoutForeign(310);
    const r = flow(7);
    r.packets = 0xabcdef;
    r.octets = 2 ** 36 + 5;
    s.process(ipfixMessage(0, [templateSet(IPFIX, [t]), foreignDataSet(t, r, 'GigabitEthernet0/0/1')]), NOW);
    expect(flows).toHaveLength(1);
    expect([flows[0].src[0], flows[0].dst[0], flows[0].packets, flows[0].octets, flows[0].protocol]).toEqual([
      r.src[0], r.dst[0], 0xabcdef, 2 ** 36 + 5, 17,
    ]);
    expect(s.counters.malformed).toBe(0);
  });
});

describe('template bounds', () => {
  it('a template flood keeps at most maxTemplates per session, evicting the oldest', () => {
    const { s } = mk({ maxTemplates: 4 });
    const ts = Array.from({ length: 10 }, (_, i) => layoutA(10, 300 + i));
    s.process(ipfixMessage(0, [templateSet(IPFIX, ts)]), NOW);
    expect(s.templateCount).toBe(4);
    expect(s.counters.templatesEvicted).toBe(6);
  });

  it('all sessions together stay under the field budget, oldest template first', () => {
    const budget = new SharedBudget(7 * 5, 1e8); // five 7-field templates
    const a = mk({}, 10, budget);
    const b = mk({}, 10, budget);
    a.s.process(ipfixMessage(0, [templateSet(IPFIX, [300, 301, 302].map((id) => layoutA(10, id)))]), NOW);
    b.s.process(ipfixMessage(0, [templateSet(IPFIX, [300, 301, 302, 303].map((id) => layoutA(10, id)))]), NOW);
    expect(budget.templateFields).toBeLessThanOrEqual(35);
    expect(a.s.templateCount + b.s.templateCount).toBe(5);
    expect(a.s.counters.templatesEvicted).toBe(2);
    a.s.dispose();
    b.s.dispose();
    expect(budget.templateFields).toBe(0);
    expect(budget.lru.size).toBe(0);
  });
});

describe('sequence numbers by each version\'s rule', () => {
  it('v5 counts flows: a lost datagram is one gap of its record count', () => {
    const { s } = mk({}, 5);
    const enc = new V5Encoder();
    const grams: Uint8Array[] = [];
    for (let d = 0; d < 4; d++) {
      enc.beginMessage(NOW, NOW - 10_000_000);
      for (let i = 0; i < 3 + d; i++) enc.addRecord(flow(i, NOW - 5000));
      grams.push(enc.finish().slice());
    }
    for (const [i, g] of grams.entries()) if (i !== 2) s.process(g, NOW);
    expect(s.counters.sequenceErrors).toBe(1);
    expect(s.counters.sequenceLost).toBe(5);
    expect(s.counters.flows).toBe(3 + 4 + 6);
  });

  it('v9 counts packets', () => {
    const { s } = mk({}, 9);
    const enc = new V9Encoder();
    const grams: Uint8Array[] = [];
    for (let d = 0; d < 5; d++) {
      enc.beginMessage(NOW, NOW - 10_000_000);
      enc.addTemplates();
      enc.addRecord(flow(d, NOW - 5000));
      grams.push(enc.finish().slice());
    }
    for (const [i, g] of grams.entries()) if (i !== 1 && i !== 2) s.process(g, NOW);
    expect(s.counters.sequenceErrors).toBe(1);
    expect(s.counters.sequenceLost).toBe(2);
  });

  it('IPFIX counts data records before the message; a lost message is a gap of its records', () => {
    const { s } = mk();
    const enc = new IpfixEncoder();
    const grams: Uint8Array[] = [];
    for (let d = 0; d < 4; d++) {
      enc.beginMessage(NOW, NOW - 10_000_000);
      enc.addTemplates();
      for (let i = 0; i <= d; i++) enc.addRecord(flow(i, NOW - 5000));
      grams.push(enc.finish().slice());
    }
    for (const [i, g] of grams.entries()) if (i !== 2) s.process(g, NOW);
    expect(s.counters.sequenceErrors).toBe(1);
    expect(s.counters.sequenceLost).toBe(3);
    expect(s.counters.inclusiveSequence).toBe(false);
  });

  it("tolerates softflowd's inclusive IPFIX numbering, and still sees a real gap in it", () => {
    const { s, logs } = mk();
    const t = layoutA(10, 300);
    const sizes = [6, 2, 5, 1, 3];
    let seq = 0;
    const grams = sizes.map((n, k) => {
      seq += n; // inclusive: this message's records count too
      const recs = Array.from({ length: n }, (_, i) => flow(10 * k + i));
      return ipfixMessage(seq, k === 0 ? [templateSet(IPFIX, [t]), dataSet(t, recs)] : [dataSet(t, recs)]);
    });
    for (const g of grams.slice(0, 3)) s.process(g, NOW);
    expect(s.counters.sequenceErrors).toBe(0);
    expect(s.counters.inclusiveSequence).toBe(true);
    expect(logs.some((l) => /softflowd style/.test(l))).toBe(true);
    s.process(grams[4], NOW); // grams[3] (1 record) lost
    expect(s.counters.sequenceErrors).toBe(1);
    expect(s.counters.sequenceLost).toBe(1);
  });
});

describe('sampling', () => {
  it('multiplies counters by the rate an IPFIX options record announces', () => {
    const { s, flows } = mk();
    const enc = new IpfixEncoder({ samplingInterval: 10 });
    enc.beginMessage(NOW, NOW - 10_000_000);
    enc.addTemplates();
    enc.addRecord(flow(3, NOW - 5000));
    s.process(enc.finish(), NOW);
    expect(s.counters.announcedSampling).toBe(10);
    expect([flows[0].packets, flows[0].octets]).toEqual([40, 4000]);
  });

  it('applies -s N to an exporter that announces nothing, and -s -N to every exporter', () => {
    const enc = new V5Encoder();
    enc.beginMessage(NOW, NOW - 10_000_000);
    enc.addRecord(flow(1, NOW - 5000));
    const plain = enc.finish().slice();
    const sampled = new V5Encoder({ samplingInterval: 7 });
    sampled.beginMessage(NOW, NOW - 10_000_000);
    sampled.addRecord(flow(1, NOW - 5000));
    const announced = sampled.finish().slice();

    const d = mk({ sampling: 5 }, 5);
    d.s.process(plain, NOW);
    expect(d.flows[0].packets).toBe(10);
    const a = mk({ sampling: 5 }, 5);
    a.s.process(announced, NOW);
    expect(a.flows[0].packets).toBe(14);
    const o = mk({ sampling: -3 }, 5);
    o.s.process(announced, NOW);
    expect(o.flows[0].packets).toBe(6);
  });

  it('reads the IPFIX uptime base (IE 160) from the options before the data that needs it', () => {
    const { s, flows } = mk();
    const enc = new IpfixEncoder({ time: 'uptime' });
    const boot = NOW - 10_000_000;
    enc.beginMessage(NOW, boot);
    enc.addTemplates();
    enc.addRecord(flow(2, NOW - 5000, 1234));
    s.process(enc.finish(), NOW);
    expect(flows).toHaveLength(1);
    expect(flows[0].startSec * 1000 + flows[0].startNsec / 1e6).toBe(NOW - 5000);
    expect(flows[0].endSec * 1000 + flows[0].endNsec / 1e6).toBe(NOW - 5000 + 1234);
    expect(s.counters.unresolvedTimes).toBe(0);
  });
});

describe('impossible times', () => {
  it('flows in the future or ending before they start go to onSuspect, flagged and counted', () => {
    const { s, flows, suspect } = mk({ maxFutureMs: 60_000 });
    const t = layoutA(10, 300);
    const future = flow(1, NOW + 120_000);
    const backwards = flow(2, NOW - 5000, -2000);
    const fine = flow(3, NOW + 30_000);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [t]), dataSet(t, [future, backwards, fine])]), NOW);
    expect(srcs(flows)).toEqual([3]);
    expect(suspect.map(([r, f]) => [r.src[0] & 0xffff, f])).toEqual([
      [1, TimeFault.FUTURE],
      [2, TimeFault.END_BEFORE_START],
    ]);
    expect([s.counters.futureTimes, s.counters.endBeforeStart, s.counters.flows]).toEqual([1, 1, 3]);
  });

  it('stamps each record with the exporter it came from', () => {
    const { s, flows } = mk();
    const t = layoutA(10, 300);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [t]), dataSet(t, [flow(1)])]), NOW);
    expect([flows[0].exporterVersion, flows[0].exporter[0]]).toEqual([4, 0x7f000001]);
  });
});

describe('malformed input', () => {
  it('is counted per kind, never thrown, and the good sets of the datagram are still used', () => {
    const { s, flows } = mk();
    const t = layoutA(10, 300);
    const good = ipfixMessage(0, [templateSet(IPFIX, [t]), dataSet(t, [flow(1)])]);
    // A reserved set ID (5) between good sets: reported, skipped by its length.
    const odd = ipfixMessage(1, [dataSet(t, [flow(2)]), new Uint8Array([0, 5, 0, 8, 1, 2, 3, 4]), dataSet(t, [flow(3)])]);
    s.process(good, NOW);
    s.process(odd, NOW);
    expect(srcs(flows)).toEqual([1, 2, 3]);
    expect(s.counters.malformed).toBe(1);
    expect(s.counters.errors.get('RESERVED_SET_ID')).toBe(1);
    s.process(good.subarray(0, 10), NOW);
    expect(s.counters.errors.get('SHORT_HEADER')).toBe(1);
  });

  it('a data set too short for one record of its template is counted and said once; padding after records is not', () => {
    const { s, flows, logs } = mk();
    const t = layoutA(10, 300);
    // Set 300 with a 4-byte body: shorter than any layout A record (it carries two IPv4 addresses).
    const short = new Uint8Array([0x01, 0x2c, 0, 8, 0, 0, 0, 0]);
    s.process(ipfixMessage(0, [templateSet(IPFIX, [t]), short, dataSet(t, [flow(1)]), short]), NOW);
    expect(srcs(flows)).toEqual([1]);
    expect(s.counters.emptySets).toBe(2);
    expect(s.counters.malformed).toBe(0);
    expect(logs.filter((l) => /holds no whole record/.test(l))).toEqual([
      'test: a data set of template 300 holds no whole record (4 bytes); counted, further ones are only counted',
    ]);
    // Whole records followed by padding: nothing to count.
    const padded = dataSet(t, [flow(2)]);
    s.process(ipfixMessage(1, [padded]), NOW);
    expect(srcs(flows)).toEqual([1, 2]);
    expect(s.counters.emptySets).toBe(2);
  });

  it('survives every truncation and thousands of random mutations of real messages', () => {
    const { s } = mk();
    const t = layoutA(10, 300);
    const msgs = [
      ipfixMessage(0, [templateSet(IPFIX, [t, layoutForeign(310)]), templateSet(IPFIX, [samplingOptionsTemplate(400)], true),
        optionsDataSet(samplingOptionsTemplate(400), Object.assign(new OptionsRecord(), { samplingPacketInterval: 1, samplingPacketSpace: 3 })),
        dataSet(t, [flow(1), flow(2)]), foreignDataSet(layoutForeign(310), flow(3), 'x'), withdrawalSet([300])]),
    ];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const m of msgs) {
      for (let cut = 0; cut < m.length; cut++) s.process(m.subarray(0, cut), NOW);
      for (let k = 0; k < 3000; k++) {
        const x = m.slice();
        for (let j = 0; j <= rnd(4); j++) x[rnd(x.length)] = rnd(256);
        s.process(x, NOW);
      }
    }
    expect(s.counters.malformed).toBeGreaterThan(0);
  });
});
