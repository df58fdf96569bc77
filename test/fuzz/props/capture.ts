/**
 * Capture files through the native reader, in child processes (lib/reader-batch.ts): every file either reads or
 * gives one clear libpcap error, never crashes or hangs the process; the batch layout holds; a tiny batch buffer
 * reads the same packets as the default one; and a well-formed file reads back exactly as it was built.
 */
import fc from 'fast-check';
import { captureCaseArb, captureSeeds, type CaptureCase } from '../lib/pcapgen.js';
import { judgeBatch, readInChild } from '../lib/reader-batch.js';

export interface CaptureStats {
  files: number;
  opened: number;
  readErrors: number;
  openErrors: number;
  wellFormed: number;
  packets: number;
}

export function newCaptureStats(): CaptureStats {
  return { files: 0, opened: 0, readErrors: 0, openErrors: 0, wellFormed: 0, packets: 0 };
}

/** One run = one child process reading `batch` files. */
export function captureProperty(batch: number, stats: CaptureStats = newCaptureStats()): fc.IAsyncPropertyWithHooks<[CaptureCase[]]> {
  const seeds = captureSeeds();
  return fc.asyncProperty(fc.array(captureCaseArb(seeds), { minLength: batch, maxLength: batch }), async (cases) => {
    const o = await readInChild(cases);
    const failure = judgeBatch(cases, o);
    if (failure) throw new Error(failure);
    for (const r of o.reports) {
      stats.files++;
      if (r.openError) stats.openErrors++;
      else stats.opened++;
      if (r.readError) stats.readErrors++;
      if (cases[r.i]!.expect) stats.wellFormed++;
      stats.packets += r.count;
    }
  });
}
