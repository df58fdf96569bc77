/**
 * The long fuzz run: every property of test/fuzz with a random seed, for a time budget instead of a run count.
 *
 *   npm run fuzz                          # 10 minutes in all
 *   npm run fuzz -- --minutes 60          # longer
 *   npm run fuzz -- --only wire,collect   # some properties
 *   npm run fuzz -- --seed 123456         # replay a seed it printed
 *
 * Prints, per property, the runs made and the seed; on a failure, fast-check's report (seed, path, the shrunk
 * counterexample) and for capture files the path of the saved file. Exits 1 if any property failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { allExports, builtFrames, realFrames } from './lib/corpus.js';
import { CRASH_DIR } from './lib/reader-batch.js';
import { captureProperty, newCaptureStats } from './props/capture.js';
import { collectProperty, newCollectStats } from './props/collect.js';
import { decodeProperty, DecodeStats } from './props/decode.js';
import { fileJobProperty, newJobStats } from './props/file-job.js';
import { newWireStats, wireProperty, wireStreamProperty } from './props/wire.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const minutes = Number(arg('minutes') ?? 10);
if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
const only = arg('only')?.split(',');
const fixedSeed = arg('seed') !== undefined ? Number(arg('seed')) : undefined;
/** Files read per child process in the capture property. */
const CAPTURE_BATCH = 100;

/** What each property is run with here. */
interface Params {
  seed: number;
  numRuns: number;
  interruptAfterTimeLimit: number;
  markInterruptAsFailure: boolean;
}

interface Outcome {
  failed: boolean;
  numRuns: number;
  /** fast-check's report of a failure: seed, path, counterexample. */
  report: string;
}

async function check<Ts>(prop: fc.IRawProperty<Ts>, p: Params & { endOnFailure?: boolean }): Promise<Outcome> {
  const d = await fc.check(prop, p);
  // fast-check's own report prints the counterexample whole: for a batch of capture files, megabytes. The error
  // (which names the case and where its file was saved), the seed and the path are what a replay needs.
  const report = d.failed ? `seed ${d.seed}, path ${d.counterexamplePath}\n${String(d.errorInstance ?? d.error)}`.slice(0, 20_000) : '';
  return { failed: d.failed, numRuns: d.numRuns, report };
}

interface Job {
  name: string;
  /** Share of the time budget. */
  weight: number;
  /** Cases per run of the property (the capture property reads a batch of files per run). */
  casesPerRun: number;
  run(params: Params): Promise<Outcome>;
  summary(): string;
}

async function main(): Promise<number> {
  const started = Date.now();
  console.log(`flowprobe fuzz: ${minutes} min${only ? `, only ${only.join(', ')}` : ''}; loading seeds...`);
  const frames = [...realFrames(), ...builtFrames()];
  const exports = await allExports();
  const jobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowprobe-fuzz-job-'));
  console.log(`  ${frames.length} frames, ${exports.length} exports (${exports.reduce((n, e) => n + e.datagrams.length, 0)} datagrams)`);

  const ds = new DecodeStats();
  const cs = newCaptureStats();
  const ws = newWireStats();
  const ss = newWireStats();
  const js = newJobStats();
  const ks = newCollectStats();
  const jobs = ([
    { name: 'decode', weight: 1, casesPerRun: 1, run: (p) => check(decodeProperty(frames, ds), p), summary: () => `${ds.cases} packets, OK on ${ds.okLinks.size} link types` },
    {
      name: 'capture',
      weight: 3,
      casesPerRun: CAPTURE_BATCH,
      run: (p) => check(captureProperty(CAPTURE_BATCH, cs), { ...p, endOnFailure: true }),
      summary: () => `${cs.files} files (${cs.wellFormed} well-formed), ${cs.openErrors} refused, ${cs.readErrors} read errors, ${cs.packets} packets`,
    },
    { name: 'wire', weight: 2, casesPerRun: 1, run: (p) => check(wireProperty(exports, ws), p), summary: () => `${ws.datagrams} decodes, ${ws.records} records, ${ws.templates} templates` },
    { name: 'wire-stream', weight: 1, casesPerRun: 1, run: (p) => check(wireStreamProperty(exports, ss), p), summary: () => `${ss.datagrams} datagrams, ${ss.records} records` },
    { name: 'file-job', weight: 2, casesPerRun: 1, run: (p) => check(fileJobProperty(jobDir, js), p), summary: () => `${js.runs} jobs, ${js.packets} packets, ${js.records} records exported` },
    {
      name: 'collect',
      weight: 1,
      casesPerRun: 1,
      run: (p) => check(collectProperty(exports, ks), p),
      summary: () => `${ks.datagrams} datagrams, ${ks.flows} flows, ${ks.sessionsEvicted} sessions and ${ks.templatesEvicted} templates evicted`,
    },
  ] satisfies Job[]).filter((j) => !only || only.includes(j.name));
  if (jobs.length === 0) throw new Error(`--only: none of ${only!.join(', ')} is a property (decode, capture, wire, wire-stream, file-job, collect)`);

  const totalWeight = jobs.reduce((n, j) => n + j.weight, 0);
  const budgetMs = minutes * 60_000 - (Date.now() - started);
  let failed = 0;
  let cases = 0;
  for (const j of jobs) {
    const ms = Math.max(1000, Math.floor((budgetMs * j.weight) / totalWeight));
    const seed = fixedSeed ?? Math.floor(Math.random() * 2 ** 31);
    const t0 = Date.now();
    // Bounded twice over: by the time limit, and by a run count no budget reaches.
    const d = await j.run({ seed, numRuns: 100_000_000, interruptAfterTimeLimit: ms, markInterruptAsFailure: false });
    const n = d.numRuns * j.casesPerRun;
    cases += n;
    const secs = ((Date.now() - t0) / 1000).toFixed(0);
    if (d.failed) {
      failed++;
      console.log(`FAIL ${j.name}: after ${n} cases in ${secs} s\n${d.report}\n`);
    } else {
      console.log(`ok   ${j.name}: ${n} cases in ${secs} s, seed ${seed}: ${j.summary()}`);
    }
  }
  fs.rmSync(jobDir, { recursive: true, force: true });
  console.log(`${cases} cases, ${failed} propert${failed === 1 ? 'y' : 'ies'} failed${failed ? `; capture files that failed are in ${CRASH_DIR}` : ''}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`flowprobe fuzz: ${(e as Error).message}`);
    process.exit(2);
  },
);
