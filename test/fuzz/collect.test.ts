/**
 * The bounded fuzz run of flowcapd's datagram handler (props/collect.ts): real and mutated softflowd and flowprobe
 * exports from many sources through one Collector with small bounds; `npm run fuzz` runs it longer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allExports, type Export } from './lib/corpus.js';
import { suiteParams } from './lib/budget.js';
import { collectProperty, newCollectStats } from './props/collect.js';

let exports: Export[];
beforeAll(async () => {
  exports = await allExports();
}, 60_000);

describe('fuzz: flowcapd sessions (src/collect) on real and mutated exports from many sources', () => {
  it('never throws, hands on only sane records, stays within every bound, counters add up (600 streams)', () => {
    const stats = newCollectStats();
    fc.assert(collectProperty(exports, stats), suiteParams(600));
    // Every bound was reached, and evictions and drops were counted.
    expect(stats.flows).toBeGreaterThan(10_000);
    expect(stats.sessionsEvicted).toBeGreaterThan(0);
    expect(stats.templatesEvicted).toBeGreaterThan(0);
    expect(stats.droppedSets).toBeGreaterThan(0);
    expect(stats.expiredSets).toBeGreaterThan(0);
    expect(stats.rejected).toBeGreaterThan(0);
    expect(stats.malformed).toBeGreaterThan(0);
  });
});
