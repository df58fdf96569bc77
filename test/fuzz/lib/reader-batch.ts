/**
 * Parent side of the capture-file fuzz: writes a batch of cases to temp files, reads them in a child process
 * (reader-child.ts), and turns a crash, a hang or a broken rule into a failure that names the file, saved where it
 * can be replayed (FUZZ_CRASH_DIR, default $TMPDIR/flowprobe-fuzz-crashes).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaptureCase } from './pcapgen.js';
import { fnv1a, type ManifestEntry, type ReadReport } from './reader.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'reader-child.ts');
export const CRASH_DIR = process.env.FUZZ_CRASH_DIR ?? path.join(os.tmpdir(), 'flowprobe-fuzz-crashes');

export interface BatchOutcome {
  reports: ReadReport[];
  /** The child died or hung: on which case, and how. */
  crash: { index: number; how: string; stderr: string } | null;
}

/** Reads every case in one child process; never throws for what the child does. */
export async function readInChild(
  cases: readonly CaptureCase[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BatchOutcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-fuzz-'));
  try {
    const manifest: ManifestEntry[] = cases.map((c, i) => {
      const p = path.join(dir, `case-${i}.cap`);
      fs.writeFileSync(p, c.bytes);
      return { path: p, packets: c.expect !== undefined };
    });
    const mpath = path.join(dir, 'manifest.json');
    fs.writeFileSync(mpath, JSON.stringify(manifest));
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mpath], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    const reports: ReadReport[] = [];
    let lastBegin = -1;
    for (const line of out.split('\n')) {
      if (line.startsWith('begin ')) lastBegin = Number(line.slice(6));
      else if (line.startsWith('done ')) reports.push(JSON.parse(line.slice(5)) as ReadReport);
    }
    let crash: BatchOutcome['crash'] = null;
    if (timedOut || code !== 0 || reports.length !== cases.length) {
      const how = timedOut ? `hung (killed after ${timeoutMs} ms)` : signal ? `killed by ${signal}` : `exited with status ${code}`;
      crash = { index: Math.max(lastBegin, 0), how, stderr: err.slice(-2000) };
    }
    return { reports, crash };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Keeps a failing input for replay; returns its path. */
export function saveFailure(c: CaptureCase, why: string): string {
  fs.mkdirSync(CRASH_DIR, { recursive: true });
  const name = createHash('sha1').update(c.bytes).digest('hex').slice(0, 16);
  const p = path.join(CRASH_DIR, `${name}.cap`);
  fs.writeFileSync(p, c.bytes);
  fs.writeFileSync(`${p}.txt`, `${c.kind}\n${why}\n`);
  return p;
}

/** The first failure of a batch, described (with the saved file), or null when every case held. */
export function judgeBatch(cases: readonly CaptureCase[], o: BatchOutcome): string | null {
  if (o.crash) {
    const c = cases[o.crash.index]!;
    const why = `the reader ${o.crash.how} on case ${o.crash.index} (${c.kind})\n${o.crash.stderr}`;
    return `${why}\nsaved as ${saveFailure(c, why)}`;
  }
  for (const r of o.reports) {
    const c = cases[r.i]!;
    let why = r.broken;
    if (!why && c.expect) why = compareExpected(c, r);
    if (why) return `case ${r.i} (${c.kind}): ${why}\nsaved as ${saveFailure(c, why)}`;
  }
  return null;
}

/** A well-formed file must be read whole, packet for packet. */
function compareExpected(c: CaptureCase, r: ReadReport): string | null {
  const want = c.expect!;
  if (r.openError) return `well-formed file refused: ${r.openError}`;
  if (r.readError) return `well-formed file failed after ${r.count} packets: ${r.readError}`;
  if (r.count !== want.length) return `read ${r.count} packets, the file has ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const w = want[k]!;
    const got = r.packets![k]!;
    const exp = [w.sec, w.nsec, w.caplen, w.wirelen, c.rewritten ? got[4] : fnv1a(w.data, 0, w.data.length)];
    if (got.join() !== exp.join()) return `packet ${k}: read [${got.join(', ')}], file has [${exp.join(', ')}] (sec, nsec, caplen, wirelen, fnv)`;
  }
  return null;
}
