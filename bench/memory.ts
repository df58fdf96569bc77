/**
 * memory: a capture that holds 1,000,000 flows open at once (bench/flowgen.ts: one packet each way per flow), read
 * by both tools with timeouts longer than the capture and -m 2000000, so every flow is in the table at the end of
 * the input. Each tool reads the capture from a pipe (-r -) that stays open after the last packet: once the tool
 * sits idle, its VmRSS and VmHWM are read from /proc, with every flow in its table and none exported yet; then the
 * pipe closes and the tool exports everything and exits. Resident memory per active flow is the growth over the
 * same run on a 1,000-flow capture, divided by the flows the tool reported expiring at the end.
 *
 *   npx tsx bench/memory.ts [--flows 1000000]
 *
 * Target (issue 6): <= 100 bytes of RSS per active flow.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  CACHE, FLOWPROBE, FLOWPROBE_BUILD, LONG_TIMEOUTS, ROOT, banner, buildDist, field, fmt, need, options, procCpuSeconds, procStatus, shown,
  sleep, startSink, table, warm,
} from './lib.js';
import { writeFlows } from './flowgen.js';

const o = options({ flows: 1_000_000 });
need('softflowd');
const flows = o.flows as number;
const SMALL = 1000;

banner('memory: resident bytes per active flow');
const how = buildDist();
fs.mkdirSync(CACHE, { recursive: true });
const capture = (n: number): string => {
  const f = path.join(CACHE, `flowgen-${n}.pcap`);
  if (!fs.existsSync(f)) {
    console.log(`making ${f} (bench/flowgen.ts, ${n} flows) ...`);
    writeFlows(`${f}.tmp`, n);
    fs.renameSync(`${f}.tmp`, f);
  }
  return f;
};
const big = capture(flows);
const small = capture(SMALL);
warm(big);

const sink = await startSink();
const common = ['-v', '9', '-m', String(2 * flows), ...LONG_TIMEOUTS];
const probeArgs = (f: string): string[] => [FLOWPROBE_BUILD, '-r', f, '-n', `127.0.0.1:${sink.port}`, '--no-progress', '--export-rate', '0', ...common];
const softArgs = (f: string): string[] => ['-r', f, '-n', `127.0.0.1:${sink.port}`, '-c', 'none', '-d', ...common];
console.log(`input:     ${big} (${flows.toLocaleString('en-US')} flows, ${2 * flows} packets); baseline ${small} (${SMALL} flows)`);
console.log(`flowprobe: ${shown('node', probeArgs(big))}  (${how}; ${path.relative(ROOT, FLOWPROBE)} runs this build)`);
console.log(`softflowd: ${shown('softflowd', softArgs(big))}`);
console.log('(each reads the file through a pipe, -r -)');

interface Mem {
  flows: number;
  rssKiB: number;
  hwmKiB: number;
}

/** Runs the tool on `file` fed through a pipe; samples it once it has read everything and gone idle. */
async function measure(cmd: string, args: string[], file: string): Promise<Mem> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  await new Promise<void>((res, rej) => {
    const rs = fs.createReadStream(file);
    rs.once('error', rej);
    rs.once('end', () => res());
    rs.pipe(child.stdin!, { end: false });
  });
  // Idle: no CPU time used for half a second (bounded: at most 5 minutes).
  let last = -1;
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const cpu = procCpuSeconds(child.pid!);
    if (cpu === null) throw new Error(`${cmd} exited early: ${out.trim()}`);
    if (cpu === last) break;
    last = cpu;
  }
  const st = procStatus(child.pid!)!;
  child.stdin!.end();
  const code = await exited;
  await sink.settle();
  if (code !== 0) throw new Error(`${cmd} exited ${code}: ${out.trim()}`);
  // Both print softflowd's summary; at the end of a file every flow in the table expires.
  return { flows: field(out, 'Flows expired'), rssKiB: st.rssKiB, hwmKiB: st.hwmKiB };
}

const flowprobe = (f: string): Promise<Mem> => measure(process.execPath, probeArgs('-'), f);
const softflowd = (f: string): Promise<Mem> => measure('softflowd', softArgs('-'), f);

const pb = await flowprobe(big);
const ps = await flowprobe(small);
const sb = await softflowd(big);
const ss = await softflowd(small);
await sink.close();

const per = (b: Mem, s: Mem, k: 'rssKiB' | 'hwmKiB'): number => ((b[k] - s[k]) * 1024) / (b.flows - s.flows);
console.log(table([
  ['at end of input', 'flows', 'RSS KiB', 'peak KiB', `RSS KiB, ${SMALL} flows`, 'bytes/flow (RSS)', 'bytes/flow (peak)'],
  ['flowprobe', pb.flows, pb.rssKiB, pb.hwmKiB, ps.rssKiB, per(pb, ps, 'rssKiB'), per(pb, ps, 'hwmKiB')],
  ['softflowd', sb.flows, sb.rssKiB, sb.hwmKiB, ss.rssKiB, per(sb, ss, 'rssKiB'), per(sb, ss, 'hwmKiB')],
]));
const fp = per(pb, ps, 'rssKiB');
console.log(`RATIO memory per active flow flowprobe/softflowd: ${(fp / per(sb, ss, 'rssKiB')).toFixed(2)}x; ` +
  `flowprobe ${fmt(fp)} bytes/flow (target <= 100)`);
