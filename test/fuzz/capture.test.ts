/**
 * The bounded fuzz run of the capture-file reader (props/capture.ts); `npm run fuzz` runs it longer. The native
 * reader runs in child processes, so a crash fails this test with the offending file saved instead of killing
 * vitest.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { suiteParams } from './lib/budget.js';
import type { CaptureCase } from './lib/pcapgen.js';
import { judgeBatch, readInChild } from './lib/reader-batch.js';
import { captureProperty, newCaptureStats } from './props/capture.js';

describe('fuzz: pcap/pcapng files through the native reader', () => {
  it('reads or refuses with one line, never crashes; well-formed files read back exactly (6 x 60 files)', async () => {
    const stats = newCaptureStats();
    // No shrinking: each step would be another child process; the failing file itself is saved.
    await fc.assert(captureProperty(60, stats), suiteParams(6, { endOnFailure: true }));
    expect(stats.files).toBe(360);
    // The mix reached both outcomes and real packets.
    expect(stats.openErrors).toBeGreaterThan(20);
    expect(stats.readErrors).toBeGreaterThan(10);
    expect(stats.wellFormed).toBeGreaterThan(50);
    expect(stats.packets).toBeGreaterThan(1000);
    // pcapng of several link types, and damaged at a known block, went through our reader (native/src/pcapng.cc).
    expect(stats.mixedLinks).toBeGreaterThan(20);
    expect(stats.damaged).toBeGreaterThan(20);
  }, 60_000);
});

describe('the capture fuzz harness', () => {
  const file = (text: string): CaptureCase => ({ kind: `self-test ${text}`, bytes: new TextEncoder().encode(text) });

  it('reports a reader that dies by a signal as a failure naming the file, and saves it', async () => {
    const cases = [file('not a capture'), file('not a capture either: CRASH-HERE'), file('third')];
    const o = await readInChild(cases, 30_000, { ...process.env, FLOWPROBE_FUZZ_SELFTEST: 'crash:CRASH-HERE' });
    expect(o.crash).toMatchObject({ index: 1, how: 'killed by SIGSEGV' });
    expect(o.reports).toHaveLength(1);
    const failure = judgeBatch(cases, o)!;
    expect(failure).toMatch(/killed by SIGSEGV on case 1/);
    const saved = /saved as (\S+)/.exec(failure)![1]!;
    expect(fs.readFileSync(saved, 'utf8')).toBe('not a capture either: CRASH-HERE');
    fs.rmSync(saved);
    fs.rmSync(`${saved}.txt`);
  });

  it('reports a reader that hangs, after its time limit', async () => {
    const cases = [file('HANG-HERE')];
    const o = await readInChild(cases, 2_000, { ...process.env, FLOWPROBE_FUZZ_SELFTEST: 'hang:HANG-HERE' });
    expect(o.crash).toMatchObject({ index: 0, how: 'hung (killed after 2000 ms)' });
    const saved = /saved as (\S+)/.exec(judgeBatch(cases, o)!)![1]!;
    fs.rmSync(saved);
    fs.rmSync(`${saved}.txt`);
  });

  it('passes a file that is refused with a one-line libpcap error', async () => {
    const o = await readInChild([file('not a capture at all')]);
    expect(o.crash).toBeNull();
    expect(o.reports[0]).toMatchObject({ openError: 'unknown file format', count: 0, broken: null });
  });
});
