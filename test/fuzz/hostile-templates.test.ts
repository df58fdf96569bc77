/**
 * Hostile templates (NetFlow v9, RFC 3954; IPFIX, RFC 7011) against flowcapd's receiving side: the Collector with its
 * shipped bounds (src/collect/collector.ts DEFAULTS), which keys sessions, keeps templates and counts. Each case
 * must be answered with a counter, never a throw, and memory within the bounds. The wire layer's own reactions are
 * in test/wire/malformed.test.ts; the session's basic template rules in test/collect/session.test.ts; what is here
 * is what those leave out.
 */
import { describe, expect, it } from 'vitest';
import { Collector, DEFAULTS, type CollectorConfig } from '../../src/collect/collector.js';
import type { Session } from '../../src/collect/session.js';
import { IE, VARLEN } from '../../src/wire/ie.js';
import { FlowRecord } from '../../src/wire/record.js';
import { MAX_TEMPLATE_FIELDS } from '../../src/wire/template.js';
import { B, ipfixMessage, set, template, v9Message } from './lib/bytes.js';
import { brokenBounds } from './props/collect.js';

const NOW = 1_795_549_367_000;
const CFG: CollectorConfig = { ...DEFAULTS, stampExporter: true, ignorePort: false, acceptFrom: [] };

function collector(over: Partial<CollectorConfig> = {}) {
  const flows: FlowRecord[] = [];
  let handedOn = 0;
  const keep = (r: FlowRecord): void => {
    handedOn++;
    if (flows.length < 1000) {
      const c = new FlowRecord();
      c.copyFrom(r);
      flows.push(c);
    }
  };
  const c = new Collector({ ...CFG, ...over }, { onFlow: keep, onSuspect: keep });
  const session = (): Session => {
    const l = c.list();
    expect(l).toHaveLength(1);
    return l[0]!;
  };
  const errors = (): Record<string, number> => Object.fromEntries(session().counters.errors);
  const bounds = (): string | null => brokenBounds(c, handedOn);
  return { c, flows, session, errors, bounds };
}

/** Template 300: source and destination address, packets, octets (16 bytes a record). */
const T300 = template(300, [[IE.sourceIPv4Address, 4], [IE.destinationIPv4Address, 4], [IE.packetDeltaCount, 4], [IE.octetDeltaCount, 4]]);
const rec300 = (src: number, pkts = 1): B => new B().u32(src, 0x0a000001, pkts, 100 * pkts);

describe('hostile templates, answered by counters', () => {
  it('zero fields: a v9 template is refused and counted; an IPFIX one is a withdrawal (RFC 7011 §8.1), counted', () => {
    const v9 = collector();
    v9.c.receive(v9Message([set(0, new B().u16(300, 0)), set(300, rec300(1).u32(0))]), '127.0.0.1', 2055, NOW);
    expect(v9.errors()).toEqual({ BAD_FIELD_COUNT: 1 });
    expect(v9.session().counters.unknownTemplateSets).toBe(1);
    expect(v9.flows).toHaveLength(0);
    const ipfix = collector();
    ipfix.c.receive(ipfixMessage([set(2, new B().raw(T300.bytes)), set(300, rec300(1)), set(2, new B().u16(300, 0)), set(300, rec300(2))]), '127.0.0.1', 4739, NOW);
    expect(ipfix.flows.map((f) => f.src[0])).toEqual([1]);
    expect(ipfix.session().counters.templatesWithdrawn).toBe(1);
    expect(ipfix.session().templateCount).toBe(0);
    expect(ipfix.bounds()).toBeNull();
  });

  it('field length 0 beside real fields is skipped; only zero-length fields are refused and counted', () => {
    const { c, flows, errors } = collector();
    const t = template(301, [[IE.sourceIPv4Address, 4], [IE.octetDeltaCount, 0], [IE.packetDeltaCount, 4]]);
    const zero = template(302, [[IE.octetDeltaCount, 0], [IE.packetDeltaCount, 0]]);
    c.receive(ipfixMessage([set(2, new B().raw(t.bytes).raw(zero.bytes)), set(301, new B().u32(7, 3).u32(8, 4))]), '127.0.0.1', 4739, NOW);
    expect(flows.map((f) => [f.src[0], f.packets, f.octets])).toEqual([[7, 3, 0], [8, 4, 0]]);
    expect(errors()).toEqual({ BAD_FIELD_LENGTH: 1 });
  });

  it('field length 65535 is variable length: a length prefix past the set is counted, the records before it kept', () => {
    const { c, flows, errors, bounds } = collector();
    const t = template(303, [[IE.sourceIPv4Address, 4], [IE.interfaceName, VARLEN]]);
    const data = new B()
      .u32(1).u8(3).raw([0x65, 0x74, 0x68]) // "eth"
      .u32(2).u8(255).u16(0xffff).raw(new Array(20).fill(0x41)); // says 65535 bytes, has 20
    c.receive(ipfixMessage([set(2, t), set(303, data)]), '127.0.0.1', 4739, NOW);
    expect(flows.map((f) => f.src[0])).toEqual([1]);
    expect(errors()).toEqual({ RECORD_TRUNCATED: 1 });
    // A 3-byte prefix (255, then 16 bits) cut after its second byte.
    c.receive(ipfixMessage([set(303, new B().u32(3).u8(255, 1))]), '127.0.0.1', 4739, NOW);
    expect(errors()).toEqual({ RECORD_TRUNCATED: 2 });
    expect(bounds()).toBeNull();
  });

  it('template ID below 256 is refused and counted; a data set with such an ID is a reserved set, counted', () => {
    const { c, errors } = collector();
    c.receive(ipfixMessage([set(2, template(255, [[IE.octetDeltaCount, 4]])), set(100, new B().u32(1))]), '127.0.0.1', 4739, NOW);
    expect(errors()).toEqual({ BAD_TEMPLATE_ID: 1, RESERVED_SET_ID: 1 });
  });

  it('a record longer than its set yields nothing and breaks nothing after it', () => {
    const { c, flows, session } = collector();
    // 16-byte records, a 12-byte set body: less than one record (RFC 7011 §3.3.1 calls that padding).
    c.receive(ipfixMessage([set(2, T300), set(300, new B().u32(9, 9, 9)), set(300, rec300(5))]), '127.0.0.1', 4739, NOW);
    expect(flows.map((f) => f.src[0])).toEqual([5]);
    expect(session().counters.flows).toBe(1);
  });

  it('set length below 4, or past the end of the message: counted, the walk stops there', () => {
    for (const len of [0, 1, 3, 200]) {
      const { c, flows, errors } = collector();
      const bad = new B().u16(300, len).raw(rec300(2).bytes);
      c.receive(ipfixMessage([set(2, T300), set(300, rec300(1)), bad]), '127.0.0.1', 4739, NOW);
      expect(flows.map((f) => f.src[0]), `set length ${len}`).toEqual([1]);
      expect(errors(), `set length ${len}`).toEqual({ BAD_SET_LENGTH: 1 });
    }
  });

  it('message lengths that lie: IPFIX too long or too short is counted, bytes after a short one are not read; v5 too', () => {
    const { c, flows, session, errors } = collector();
    const body = [set(2, T300), set(300, rec300(1))];
    const n = ipfixMessage(body).length;
    for (const len of [0, 15, n + 1, 0xffff]) c.receive(ipfixMessage(body, { len }), '127.0.0.1', 4739, NOW);
    expect(errors()).toEqual({ BAD_LENGTH: 4 });
    expect(flows).toHaveLength(0);
    // The header says the message ends after the template set: the data set behind it is not part of it.
    c.receive(ipfixMessage(body, { len: 16 + body[0]!.length }), '127.0.0.1', 4739, NOW);
    expect(flows).toHaveLength(0);
    expect(session().templateCount).toBe(1);
    // v9 has no length, and its count is only informative: 0 or 65535, the records are read the same.
    const v9 = collector();
    for (const count of [0, 65535]) v9.c.receive(v9Message([set(0, T300), set(300, rec300(count + 1))], { count }), '127.0.0.1', 2055, NOW);
    expect(v9.flows.map((f) => f.src[0])).toEqual([1, 65536]);
    // v5: a count the datagram cannot hold is refused whole.
    const v5 = collector();
    const d = new B().u16(5, 3).u32(0, 0, 0, 0).u32(0).raw(new Array(48).fill(1)).out();
    v5.c.receive(d, '127.0.0.1', 9995, NOW);
    expect(v5.errors()).toEqual({ BAD_LENGTH: 1 });
    expect(v5.flows).toHaveLength(0);
  });

  it('a template redefined mid-message (v9): the data after it is read with the new layout, and it is counted', () => {
    const { c, flows, session } = collector();
    const a = template(300, [[IE.sourceIPv4Address, 4], [IE.packetDeltaCount, 4]]);
    const b = template(300, [[IE.packetDeltaCount, 4], [IE.sourceIPv4Address, 4], [IE.protocolIdentifier, 1]]);
    c.receive(
      v9Message([set(0, a), set(300, new B().u32(1, 10)), set(0, b), set(300, new B().u32(20, 2).u8(17).u8(0, 0, 0))]),
      '127.0.0.1',
      2055,
      NOW,
    );
    expect(flows.map((f) => [f.src[0], f.packets, f.protocol])).toEqual([[1, 10, 0], [2, 20, 17]]);
    expect(session().counters.templatesRedefined).toBe(1);
  });
});

/** `count` templates of `fields` fields each, IDs from `first`, packed into IPFIX messages of at most ~1400 bytes. */
function templateFlood(first: number, count: number, fields: number, domain = 0): Uint8Array[] {
  const msgs: Uint8Array[] = [];
  const per = Math.floor((1400 - 20) / (4 + 4 * fields));
  for (let i = 0; i < count; i += per) {
    const body = new B();
    for (let id = first + i; id < first + Math.min(count, i + per); id++) {
      body.u16(id, fields);
      for (let f = 0; f < fields; f++) body.u16(f === 0 ? IE.sourceIPv4Address : IE.octetDeltaCount, 4);
    }
    msgs.push(ipfixMessage([set(2, body)], { domain }));
  }
  return msgs;
}

describe('template floods stay within the shipped bounds, oldest evicted, all counted', () => {
  it(`one exporter, every template ID (65,280): at most ${DEFAULTS.maxTemplates} kept, the newest; the rest counted`, () => {
    const { c, flows, session, bounds } = collector();
    for (const m of templateFlood(256, 65280, 2)) c.receive(m, '127.0.0.1', 4739, NOW);
    const s = session();
    expect(s.templateCount).toBe(DEFAULTS.maxTemplates);
    expect(s.counters.templates).toBe(65280);
    expect(s.counters.templatesEvicted).toBe(65280 - DEFAULTS.maxTemplates);
    expect(bounds()).toBeNull();
    // The newest ID still decodes; the oldest is gone, so its data is held for a template.
    c.receive(ipfixMessage([set(65535, new B().u32(42, 1)), set(256, new B().u32(43, 1))]), '127.0.0.1', 4739, NOW);
    expect(flows.map((f) => f.src[0])).toEqual([42]);
    expect(s.counters.unknownTemplateSets).toBe(1);
  });

  it('one exporter, 100,000 templates over 200 observation domains: the overall field bound holds, oldest first', () => {
    const { c, bounds } = collector();
    const fields = 8; // 800,000 fields offered, DEFAULTS.maxTemplateFields = 500,000
    for (let d = 0; d < 200; d++) for (const m of templateFlood(256, 500, fields, d)) c.receive(m, '127.0.0.1', 4739, NOW);
    const sessions = c.list();
    expect(sessions).toHaveLength(200);
    const kept = sessions.reduce((n, s) => n + s.templateCount, 0);
    const evicted = sessions.reduce((n, s) => n + s.counters.templatesEvicted, 0);
    expect(kept * fields).toBeLessThanOrEqual(DEFAULTS.maxTemplateFields);
    expect(kept).toBe(Math.floor(DEFAULTS.maxTemplateFields / fields));
    expect(kept + evicted).toBe(100_000);
    expect(c.budget.templatesEvicted).toBe(evicted);
    // Oldest first: the first domains lost everything, the last kept all of theirs.
    expect(sessions.find((s) => s.name.endsWith('domain 0'))!.templateCount).toBe(0);
    expect(sessions.find((s) => s.name.endsWith('domain 199'))!.templateCount).toBe(500);
    expect(bounds()).toBeNull();
  });

  it(`5,000 exporters: at most ${DEFAULTS.maxSessions} sessions, the least recently heard evicted and counted, their templates released`, () => {
    const { c, bounds } = collector();
    for (let i = 0; i < 5000; i++) {
      for (const m of templateFlood(256, 20, 4)) c.receive(m, `127.0.${i >> 8}.${i & 255}`, 4739, NOW + i);
    }
    expect(c.list()).toHaveLength(DEFAULTS.maxSessions);
    expect(c.counters.sessionsEvicted).toBe(5000 - DEFAULTS.maxSessions);
    expect(c.evictedTotals.templates).toBe((5000 - DEFAULTS.maxSessions) * 20);
    // 4,096 x 80 fields is under the overall bound: what is held is exactly the live sessions' templates.
    expect(c.budget.templateFields).toBe(DEFAULTS.maxSessions * 20 * 4);
    expect(bounds()).toBeNull();
  });

  it('a template of the most fields we take (1,024) is kept even alone over a tiny budget, and still counted there', () => {
    const { c, session, bounds } = collector({ maxTemplateFields: 100 });
    for (const m of templateFlood(256, 3, 10)) c.receive(m, '127.0.0.1', 4739, NOW);
    const big = new B().u16(400, MAX_TEMPLATE_FIELDS);
    for (let f = 0; f < MAX_TEMPLATE_FIELDS; f++) big.u16(IE.octetDeltaCount, 4);
    // Too big for one datagram of 1,400 bytes, but not for UDP: 4 + 4,096 bytes of template.
    c.receive(ipfixMessage([set(2, big)]), '127.0.0.1', 4739, NOW);
    expect(session().templateCount).toBe(1);
    expect(c.budget.templateFields).toBe(MAX_TEMPLATE_FIELDS);
    expect(session().counters.templatesEvicted).toBe(3);
    expect(bounds()).toBeNull();
  });
});
