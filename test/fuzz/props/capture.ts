/**
 * Capture files through the native reader, in child processes (lib/reader-batch.ts): every file either reads or
 * gives one clear error, never crashes or hangs the process; the batch layout holds; a tiny batch buffer reads the
 * same packets as the default one; and a well-formed file reads back exactly as it was built. pcapng files of
 * several sections and link types (capture-pcapng.ts) are then read here too, once the child has survived them:
 * each packet must come with its interface's link type, and a file damaged at one block must stop there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { captureCaseArb, captureSeeds } from '../lib/pcapgen.js';
import { judgeBatch, readInChild, saveFailure } from '../lib/reader-batch.js';
import { checkPcapngCase, pcapngCaseArb, type PcapngCase } from './capture-pcapng.js';

export interface CaptureStats {
  files: number;
  opened: number;
  readErrors: number;
  openErrors: number;
  wellFormed: number;
  packets: number;
  /** Well-formed pcapng files whose packets have more than one link type. */
  mixedLinks: number;
  /** pcapng files damaged at a known block, checked to stop there. */
  damaged: number;
}

export function newCaptureStats(): CaptureStats {
  return { files: 0, opened: 0, readErrors: 0, openErrors: 0, wellFormed: 0, packets: 0, mixedLinks: 0, damaged: 0 };
}

/** One run = one child process reading `batch` files. */
export function captureProperty(batch: number, stats: CaptureStats = newCaptureStats()): fc.IAsyncPropertyWithHooks<[PcapngCase[]]> {
  const seeds = captureSeeds();
  const caseArb = fc.oneof({ weight: 2, arbitrary: captureCaseArb(seeds) as fc.Arbitrary<PcapngCase> }, { weight: 1, arbitrary: pcapngCaseArb });
  return fc.asyncProperty(fc.array(caseArb, { minLength: batch, maxLength: batch }), async (cases) => {
    const o = await readInChild(cases);
    const failure = judgeBatch(cases, o);
    if (failure) throw new Error(failure);
    checkInProcess(cases);
    for (const r of o.reports) {
      const c = cases[r.i]!;
      stats.files++;
      if (r.openError) stats.openErrors++;
      else stats.opened++;
      if (r.readError) stats.readErrors++;
      if (c.expect) stats.wellFormed++;
      if (c.links && new Set(c.links).size > 1) stats.mixedLinks++;
      if (c.damage) stats.damaged++;
      stats.packets += r.count;
    }
  });
}

/** The pcapng checks the child's report cannot make (the child has read these files without dying). */
function checkInProcess(cases: readonly PcapngCase[]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-fuzz-ng-'));
  try {
    cases.forEach((c, i) => {
      if (!c.links && !c.damage) return;
      const file = path.join(dir, `case-${i}.pcapng`);
      fs.writeFileSync(file, c.bytes);
      const why = checkPcapngCase(c, file);
      if (why) throw new Error(`case ${i} (${c.kind}): ${why}\nsaved as ${saveFailure(c, why)}`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
