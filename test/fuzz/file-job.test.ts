/**
 * The bounded fuzz run of the flowprobe pcap job on mutated captures (props/file-job.ts); `npm run fuzz` runs it
 * longer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { suiteParams } from './lib/budget.js';
import { fileJobProperty, newJobStats, pcapSeeds } from './props/file-job.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-fuzz-job-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('fuzz: the flowprobe pcap job on mutated captures', () => {
  it('mutates every bundled classic pcap that is small enough', () => {
    expect(pcapSeeds().length).toBeGreaterThan(30);
  });

  it('never throws; statistics add up; no flow left; every export datagram arrives and decodes (400 jobs)', async () => {
    const stats = newJobStats();
    await fc.assert(fileJobProperty(dir, stats), suiteParams(400));
    expect(stats.runs).toBe(400);
    // Some files were cut (an error after the packets before the cut); the rest made and exported flows.
    expect(stats.errors).toBeGreaterThan(20);
    expect(stats.records).toBeGreaterThan(1000);
  }, 60_000);
});
