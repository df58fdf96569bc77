/**
 * receiver: flowprobe exports the replay benchmark's capture (genpcap, 3M packets) unpaced as NetFlow v9 and as
 * IPFIX into flowcapd and into nfcapd in turn (nfcapd first in odd runs, flowcapd first in even ones), each
 * listening on 127.0.0.1 with a 32 MiB socket buffer and writing files. For each: the records and datagrams
 * flowprobe sent, the flows the receiver stored (its own count at exit), the datagrams the kernel dropped at its
 * socket (/proc/net/udp), the flows stored per second (from the export's start to the receiver's last flow), and
 * the receiver's CPU time per flow with the rate that CPU time would allow on one core.
 *
 *   npx tsx bench/receiver.ts [--packets 3000000] [--flows 300000] [--runs 3]
 *
 * Target (issue 6): flowcapd stores at least nfcapd's rate, with no loss at that rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  FLOWPROBE_BUILD, LONG_TIMEOUTS, ROOT, banner, buildDist, fmt, genpcap, median, need, options, procCpuSeconds, run,
  shown, sleep, table, warm,
} from './lib.js';
import { freeUdpPort } from '../test/helpers/nfcapd.js';

const o = options({ packets: 3_000_000, flows: 300_000, runs: 3 });
need('nfcapd', 'python3');
const FLOWCAPD_BUILD = path.join(ROOT, 'dist/flowcapd.mjs');
const BUFFER = 33554432;

banner('receiver: flowcapd vs nfcapd, fed by flowprobe -r (unpaced)');
const how = buildDist();
if (!fs.existsSync(FLOWCAPD_BUILD)) {
  console.log(`flowcapd is not there yet (${path.relative(ROOT, FLOWCAPD_BUILD)} after the build): nothing to compare`);
  process.exit(0);
}
const file = genpcap(o.packets as number, o.flows as number);
warm(file);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fpb-recv-'));

type Receiver = 'nfcapd' | 'flowcapd';
const receivers: Record<Receiver, (port: number, dir: string) => [string, string[], RegExp]> = {
  nfcapd: (port, dir) => ['nfcapd', ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(BUFFER), '-t', '3600', '-C', 'none'], /Startup nfcapd/],
  flowcapd: (port, dir) => [process.execPath, [FLOWCAPD_BUILD, '-l', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(BUFFER), '-t', '3600'], /listening on/],
};
const probe = (port: number, v: number): string[] => [
  FLOWPROBE_BUILD, '-r', file, '-n', `127.0.0.1:${port}`, '-v', String(v), '--export-rate', '0', '--no-progress', '-m', '8192', ...LONG_TIMEOUTS,
];
console.log(`input:     ${file} (${(o.packets as number).toLocaleString('en-US')} packets)`);
console.log(`exporter:  ${shown('node', probe(0, 9))}  (${how})`);
console.log(`nfcapd:    ${shown('nfcapd', receivers.nfcapd(0, 'DIR')[1])}`);
console.log(`flowcapd:  ${shown('node', receivers.flowcapd(0, 'DIR')[1])}`);

/** rx_queue and drops of the UDP socket bound to 127.0.0.1:port (/proc/net/udp). */
function socketState(port: number): { queue: number; drops: number } | null {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c[1] === want) return { queue: parseInt(c[4]!.split(':')[1]!, 16), drops: Number(c[c.length - 1]) };
  }
  return null;
}

interface Result {
  records: number;
  datagrams: number;
  stored: number;
  dropped: number;
  seconds: number;
  cpuPerFlowUs: number;
}

async function once(rx: Receiver, version: number): Promise<Result> {
  const port = await freeUdpPort();
  const dir = fs.mkdtempSync(path.join(tmp, `${rx}-`));
  const [cmd, args, ready] = receivers[rx](port, dir);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    for (let i = 0; !ready.test(log); i++) {
      if (i > 300 || child.exitCode !== null) throw new Error(`${rx} did not start: ${log.trim()}`);
      await sleep(50);
    }
    const pid = child.pid!;
    const cpu0 = procCpuSeconds(pid)!;
    const t0 = performance.now();
    const p = await run(process.execPath, probe(port, version));
    if (p.code !== 0) throw new Error(`flowprobe exited ${p.code}: ${p.stderr.trim()}`);
    const sent = /Flows exported: (\d+) records in (\d+) datagrams/.exec(p.stdout);
    // Done when the socket is empty and the receiver has used no CPU for half a second (bounded). The last flow was
    // stored by the last poll that saw its CPU time move: polls 20 ms apart place that within 20 ms (250 ms apart,
    // a receiver still busy a few ms after the exporter's exit lost a quarter of a second).
    let last = procCpuSeconds(pid)!;
    let t1 = performance.now();
    for (let i = 0; i < 3000; i++) {
      await sleep(20);
      const s = socketState(port);
      const c = procCpuSeconds(pid)!;
      const now = performance.now();
      if (c !== last) t1 = now;
      else if (s && s.queue === 0 && now - t1 >= 500) break;
      last = c;
    }
    const cpu = procCpuSeconds(pid)! - cpu0;
    const dropped = socketState(port)?.drops ?? NaN;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    const stored =
      rx === 'nfcapd'
        ? [...log.matchAll(/Flows: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
        : Number(/flows written (\d+)/.exec(log)?.[1] ?? NaN);
    return {
      records: Number(sent?.[1] ?? NaN),
      datagrams: Number(sent?.[2] ?? NaN),
      stored,
      dropped,
      seconds: (t1 - t0) / 1000,
      cpuPerFlowUs: (cpu * 1e6) / stored,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows: (string | number)[][] = [
  ['run', 'version', 'receiver', 'records sent', 'datagrams sent', 'flows stored', 'datagrams dropped', 'flows/s stored', 'CPU us/flow', 'flows/s per core'],
];
const summary: string[] = [];
try {
  for (const version of [9, 10]) {
    const by: Record<Receiver, Result[]> = { nfcapd: [], flowcapd: [] };
    for (let i = 0; i < (o.runs as number); i++) {
      // A B B A ...: whatever the run before leaves behind (its file still being written back, a warmer cache) falls
      // on each receiver in turn, not always on the same one.
      for (const rx of i % 2 === 0 ? (['nfcapd', 'flowcapd'] as const) : (['flowcapd', 'nfcapd'] as const)) {
        const r = await once(rx, version);
        by[rx].push(r);
        rows.push([String(i + 1), `v${version}`, rx, r.records, r.datagrams, r.stored, r.dropped, r.stored / r.seconds, r.cpuPerFlowUs, 1e6 / r.cpuPerFlowUs]);
      }
    }
    const rate = (rs: Result[]): number => median(rs.map((r) => r.stored / r.seconds));
    const capacity = (rs: Result[]): number => median(rs.map((r) => 1e6 / r.cpuPerFlowUs));
    const lost = (rs: Result[]): number => Math.max(...rs.map((r) => r.records - r.stored));
    summary.push(
      `RATIO receiver v${version === 10 ? '10 (IPFIX)' : version} flowcapd/nfcapd: flows/s stored ${(rate(by.flowcapd) / rate(by.nfcapd)).toFixed(2)}x, ` +
        `flows per CPU second ${(capacity(by.flowcapd) / capacity(by.nfcapd)).toFixed(2)}x; most flows not stored in a run: ` +
        `flowcapd ${fmt(lost(by.flowcapd))}, nfcapd ${fmt(lost(by.nfcapd))} (target: >= 1.0x, none lost)`,
    );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(table(rows));
for (const s of summary) console.log(s);
