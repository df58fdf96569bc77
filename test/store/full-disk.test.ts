/**
 * A full disk, for real: a small tmpfs mounted by the test (the tests run as root, as CI does; chmod cannot stop
 * root, a full filesystem can), filled up, then freed again.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlowFileWriter } from '../../src/store/writer.js';
import { flow } from '../collect/messages.js';
import { readFlows } from '../collect/run-flowcapd.js';

let dir: string;
let mounted = false;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  mounted = true;
});

afterEach(() => {
  // Lazy: a failed test may still hold a file open in it.
  if (mounted) execFileSync('umount', ['-l', dir]);
  mounted = false;
  rmSync(dir, { recursive: true, force: true });
});

/** Fills the filesystem until a write fails with ENOSPC; returns the filler's path. */
function fill(): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let i = 0; i < 10_000; i++) writeSync(fd, chunk);
    throw new Error('the tmpfs never filled up');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}

const finals = (): string[] => readdirSync(dir).filter((f) => f.startsWith('flows.')).sort();

describe('a full disk', () => {
  it('gives one clear line and a counter, holds the flows in memory, and writes them all when space returns', async () => {
    let now = Date.UTC(2026, 10, 24, 19, 50, 30);
    const logs: string[] = [];
    const filler = fill();
    const w = new FlowFileWriter({ dir, interval: 60, now: () => now, log: (l) => logs.push(l), maxBufferBytes: 4 << 20 });
    for (let i = 0; i < 2000; i++) w.onFlow(flow(i));
    w.tick();
    now += 60_000; // the interval ends while the disk is still full
    for (let i = 2000; i < 3000; i++) w.onFlow(flow(i));
    for (let k = 0; k < 5; k++) w.tick();
    expect(w.stats.writeErrors).toBeGreaterThan(0);
    expect(w.stats.heldBytes).toBeGreaterThan(0);
    const errors = logs.filter((l) => l.startsWith('cannot write'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cannot write .*\.flows\.\d{12}\.\d+\.tmp: ENOSPC \(no space left on device\); keeping flows in memory/);
    // Nothing under a final name while the data is not all there.
    expect(finals()).toEqual([]);

    unlinkSync(filler);
    w.tick();
    expect(logs.at(-1)).toMatch(/writing again; every flow held in memory is now in its file/);
    expect(finals()).toHaveLength(1);
    expect(w.close()).toBe(true);
    expect(finals()).toHaveLength(2);
    const back = await readFlows([dir]);
    expect(back.map((r) => r.src[0] & 0xffffff)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(w.stats.dropped).toBe(0);
  });

  it('when the memory bound is reached too, drops new flows and counts every one; the rest is written', async () => {
    const logs: string[] = [];
    const filler = fill();
    const w = new FlowFileWriter({ dir, interval: 60, now: () => Date.UTC(2026, 10, 24, 19, 50, 30), log: (l) => logs.push(l), maxBufferBytes: 100_000 });
    for (let i = 0; i < 3000; i++) w.onFlow(flow(i));
    w.tick();
    expect(w.stats.dropped).toBeGreaterThan(0);
    expect(w.stats.records + w.stats.dropped).toBe(3000);
    expect(logs.filter((l) => /dropping new flows \(counted\)/.test(l))).toHaveLength(1);
    unlinkSync(filler);
    expect(w.close()).toBe(true);
    const back = await readFlows([dir]);
    expect(back).toHaveLength(w.stats.records);
    // The flows kept are the first ones, in order: the drops are the newest.
    expect(back.map((r) => r.src[0] & 0xffffff)).toEqual(Array.from({ length: back.length }, (_, i) => i));
  });

  it('at close with the disk still full, says what could not be written and leaves no file under a final name', () => {
    const logs: string[] = [];
    fill();
    const w = new FlowFileWriter({ dir, interval: 60, log: (l) => logs.push(l) });
    for (let i = 0; i < 2000; i++) w.onFlow(flow(i));
    expect(w.close()).toBe(false);
    expect(logs.at(-1)).toMatch(/bytes \(\d+ messages\) of flows could not be written \(ENOSPC .*\); what was written stays in .*\.tmp and is finished at the next start/);
    expect(finals()).toEqual([]);
  });
});
