/**
 * flowcapd's datagram handler (src/collect: Collector.receive → Session) on streams of real and mutated exports
 * from many sources, with small bounds so that every bound is reached. After every datagram:
 *
 * - nothing thrown; every record handed on is one a store can write;
 * - sessions ≤ maxSessions; per session templates ≤ maxTemplates and held sets ≤ maxPendingSets;
 * - the shared budget is exact (its field count is the sum over the templates it holds, its template list is every
 *   session's templates) and within bounds: held bytes ≤ maxPendingBytes, template fields ≤ maxTemplateFields plus
 *   at most the one template just added (which is kept even when it alone is over);
 * - the counters add up: datagrams = rejected + unknown version + those of live and evicted sessions, and records
 *   handed on = the sessions' flow counts.
 */
import fc from 'fast-check';
import { Collector, parseCidr, type CollectorConfig } from '../../../src/collect/collector.js';
import type { FlowRecord } from '../../../src/wire/record.js';
import { MAX_TEMPLATE_FIELDS } from '../../../src/wire/template.js';
import type { Export } from '../lib/corpus.js';
import { mutate, mutationsArb, rarely, type Mutation } from '../lib/mutate.js';
import { brokenRecord } from './wire.js';

/** Small bounds, so a few dozen datagrams reach each of them. */
export const SMALL_BOUNDS: CollectorConfig = {
  sampling: 1,
  maxFutureMs: 3600_000,
  stampExporter: true,
  ignorePort: false,
  acceptFrom: [parseCidr('127.0.0.0/8'), parseCidr('::1')],
  maxSessions: 6,
  maxTemplates: 6,
  maxPendingSets: 4,
  maxPendingAgeMs: 5_000,
  maxTemplateFields: 120,
  maxPendingBytes: 6_000,
};

/** Sources: loopback addresses (accepted) and two from outside --accept-from (dropped and counted). */
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.1.2.3', '::1', '::ffff:127.0.0.9', '192.0.2.7', '2001:db8::7'];

interface Step {
  exp: number;
  k: number;
  muts: Mutation[] | null;
  src: number;
  port: number;
  /** ms since the previous datagram; sometimes long enough to expire held data. */
  dt: number;
  sweep: boolean;
}

export interface CollectStats {
  datagrams: number;
  flows: number;
  suspect: number;
  sessionsEvicted: number;
  templatesEvicted: number;
  droppedSets: number;
  expiredSets: number;
  rejected: number;
  malformed: number;
}

export function newCollectStats(): CollectStats {
  return { datagrams: 0, flows: 0, suspect: 0, sessionsEvicted: 0, templatesEvicted: 0, droppedSets: 0, expiredSets: 0, rejected: 0, malformed: 0 };
}

/** The first broken invariant of the collector's state, or null. */
export function brokenBounds(c: Collector, handedOn: number): string | null {
  const cfg = c.cfg;
  const sessions = c.list();
  if (sessions.length > cfg.maxSessions) return `${sessions.length} sessions, bound ${cfg.maxSessions}`;
  let templates = 0;
  let packets = c.evictedTotals.packets;
  let flows = c.evictedTotals.flows;
  for (const s of sessions) {
    if (s.templateCount > cfg.maxTemplates) return `${s.name}: ${s.templateCount} templates, bound ${cfg.maxTemplates}`;
    if (s.pendingSets > cfg.maxPendingSets) return `${s.name}: ${s.pendingSets} held sets, bound ${cfg.maxPendingSets}`;
    templates += s.templateCount;
    packets += s.counters.packets;
    flows += s.counters.flows;
  }
  const b = c.budget;
  let fields = 0;
  for (const slot of b.lru.keys()) fields += slot.t.fields.length;
  if (fields !== b.templateFields) return `budget counts ${b.templateFields} template fields, holds ${fields}`;
  if (b.lru.size !== templates) return `budget lists ${b.lru.size} templates, sessions hold ${templates}`;
  if (b.templateFields > b.maxTemplateFields + MAX_TEMPLATE_FIELDS) return `${b.templateFields} template fields, bound ${b.maxTemplateFields}`;
  if (!(b.pendingBytes >= 0 && b.pendingBytes <= b.maxPendingBytes)) return `${b.pendingBytes} held bytes, bound ${b.maxPendingBytes}`;
  const k = c.counters;
  if (k.datagrams !== k.rejected + k.unknownVersion + packets) {
    return `${k.datagrams} datagrams = ${k.rejected} rejected + ${k.unknownVersion} unknown version + ${packets} in sessions?`;
  }
  if (flows !== handedOn) return `sessions count ${flows} flows, ${handedOn} were handed on`;
  return null;
}

export function collectProperty(exports: readonly Export[], stats?: CollectStats, cfg: CollectorConfig = SMALL_BOUNDS): fc.IPropertyWithHooks<[Step[]]> {
  const step: fc.Arbitrary<Step> = fc
    .integer({ min: 0, max: exports.length - 1 })
    .chain((exp) =>
      fc.record({
        exp: fc.constant(exp),
        k: fc.integer({ min: 0, max: exports[exp]!.datagrams.length - 1 }),
        muts: rarely(mutationsArb(4), 3),
        src: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) }, fc.integer({ min: 0, max: SOURCES.length - 1 })),
        port: fc.constantFrom(2055, 4739, 9995, 40000),
        dt: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 50 }) }, fc.integer({ min: 1000, max: 10_000 })),
        sweep: fc.boolean(),
      }),
    );
  return fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
    let handedOn = 0;
    let suspect = 0;
    const check = (r: FlowRecord, what: string): void => {
      // Scaled: flowcapd multiplies counters by the announced sampling rate, which may be fractional.
      const b = brokenRecord(r, true);
      if (b) throw new Error(`${what} record: ${b}`);
    };
    const c = new Collector(cfg, {
      onFlow: (r) => {
        handedOn++;
        check(r, 'a');
      },
      onSuspect: (r) => {
        handedOn++;
        suspect++;
        check(r, 'a suspect');
      },
    });
    let now = 1_800_000_000_000;
    steps.forEach((s, i) => {
      const e = exports[s.exp]!;
      const real = e.datagrams[s.k]!;
      const d = s.muts ? mutate(real, s.muts) : real;
      now += s.dt;
      try {
        c.receive(d, SOURCES[s.src]!, s.port, now);
        if (s.sweep) c.sweep(now);
      } catch (err) {
        throw new Error(`step ${i} (${e.origin} datagram ${s.k}${s.muts ? ' mutated' : ''} from ${SOURCES[s.src]}): threw ${(err as Error).stack}`);
      }
      const broken = brokenBounds(c, handedOn);
      if (broken) throw new Error(`after step ${i} (${e.origin} datagram ${s.k}${s.muts ? ' mutated' : ''}): ${broken}`);
    });
    if (stats) {
      stats.datagrams += c.counters.datagrams;
      stats.flows += handedOn;
      stats.suspect += suspect;
      stats.sessionsEvicted += c.counters.sessionsEvicted;
      stats.rejected += c.counters.rejected;
      for (const s of [...c.list().map((x) => x.counters), c.evictedTotals]) {
        stats.templatesEvicted += s.templatesEvicted;
        stats.droppedSets += s.droppedSets;
        stats.expiredSets += s.expiredSets;
        stats.malformed += s.malformed;
      }
    }
  });
}
