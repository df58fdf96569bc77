/**
 * The bounded fuzz run of the NetFlow/IPFIX wire decoders (props/wire.ts), seeded with real exports from softflowd
 * and from flowprobe; `npm run fuzz` runs it longer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allExports, type Export } from './lib/corpus.js';
import { suiteParams } from './lib/budget.js';
import { Session, newWireStats, wireProperty, wireStreamProperty } from './props/wire.js';

let exports: Export[];
beforeAll(async () => {
  exports = await allExports();
}, 60_000);

describe('fuzz: NetFlow v5/v9/IPFIX datagrams through the wire decoders', () => {
  it('starts from real exports of softflowd and flowprobe, every version, that decode cleanly', () => {
    const origins = exports.map((e) => e.origin);
    for (const v of [5, 9, 10]) {
      expect(origins.filter((o) => o.startsWith(`softflowd -v ${v}`)).length, `softflowd v${v}`).toBeGreaterThan(0);
      expect(exports.filter((e) => e.version === v && e.origin.startsWith('flowprobe')).length, `flowprobe v${v}`).toBeGreaterThan(0);
    }
    for (const e of exports) {
      const stats = newWireStats();
      const s = new Session(stats);
      for (const d of e.datagrams) s.feed(e.version, d);
      expect({ origin: e.origin, headerErrors: stats.headerErrors, setErrors: stats.setErrors }).toEqual({ origin: e.origin, headerErrors: 0, setErrors: 0 });
      expect(stats.records, e.origin).toBeGreaterThan(0);
    }
  });

  it('single datagrams, decoded as v5, v9 and IPFIX: codes, never a throw, sane records (20,000 cases)', () => {
    const stats = newWireStats();
    fc.assert(wireProperty(exports, stats), suiteParams(20_000));
    // Mutations reached records, templates and every kind of refusal.
    expect(stats.records).toBeGreaterThan(10_000);
    expect(stats.templates).toBeGreaterThan(1000);
    expect(stats.headerErrors).toBeGreaterThan(1000);
    expect(stats.setErrors).toBeGreaterThan(1000);
  });

  it('streams through one session with templates changed mid-stream (2,000 streams)', () => {
    const stats = newWireStats();
    fc.assert(wireStreamProperty(exports, stats), suiteParams(2_000));
    expect(stats.records).toBeGreaterThan(10_000);
  });
});
