/**
 * What every benchmark shares: the tools and inputs (genpcap captures cached under the temp directory), a UDP sink
 * on 127.0.0.1, running a command while sampling its /proc entry, medians, and the printed report.
 *
 * The machines are shared and noisy (2 cores), so every benchmark runs both tools on the same input in turns and
 * prints their ratio; absolute figures drift between runs, ratios from one run hold.
 */
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry } from '../bin/launch.js';
import { bodyPath } from '../bin/bundle.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FLOWPROBE = path.join(ROOT, 'bin/flowprobe.js');
/**
 * What bin/flowprobe.js runs once `npm run build` is current: the bundle of the compiled modules (bin/bundle.js).
 * The benchmarks build it and run it directly, so that someone editing a source during a benchmark does not switch
 * the remaining runs to tsx.
 */
export const FLOWPROBE_BUILD = path.join(ROOT, 'dist/flowprobe.mjs');
export const GENPCAP = path.resolve(ROOT, '../shared/tools/genpcap.py');
export const CACHE = path.join(os.tmpdir(), 'flowprobe-bench');

/** Timeouts longer than any capture, so neither tool expires a flow by time (softflowd -r never does). */
export const LONG_TIMEOUTS = ['tcp', 'tcp.rst', 'tcp.fin', 'udp', 'icmp', 'general']
  .flatMap((n) => ['-t', `${n}=520w`])
  .concat(['-t', 'maxlife=0']);

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux
const PAGE_KIB = 4;

/** Exits with a one-line reason when a program the benchmark needs is missing. */
export function need(...tools: string[]): void {
  for (const t of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      console.error(`bench: "${t}" is not installed (apt-get install softflowd nfdump tcpreplay)`);
      process.exit(2);
    }
  }
}

/**
 * Compiles the sources to dist/ (npm run build), so bin/flowprobe.js starts from the build as an installed probe
 * would; returns how flowprobe will run. Others editing the sources afterwards make it fall back to tsx, which
 * the benchmarks check again at the end.
 */
export function buildDist(): string {
  try {
    execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', path.join(ROOT, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (e) {
    // tsc still writes the JavaScript when a file it type-checks has an error (someone's work in progress).
    const out = String((e as { stdout?: Buffer }).stdout ?? '').trim().split('\n')[0];
    console.log(`note: tsc reported type errors (the build is written anyway): ${out}`);
  }
  // As `npm run build` does after tsc: the bundle, and its code cache from a warm-up run (bundling alone removes the
  // old cache and makes none, which left every benchmark run compiling the bundle from its text: a 10-packet run
  // took 75 ms of CPU instead of 62).
  execFileSync(process.execPath, [path.join(ROOT, 'bin/bundle.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!fs.existsSync(FLOWPROBE_BUILD)) throw new Error(`the build did not produce ${FLOWPROBE_BUILD}`);
  const what = builtEntry('flowprobe') === FLOWPROBE_BUILD ? 'the compiled build in dist/, current with the sources' : 'the compiled build in dist/';
  const cached = fs.existsSync(bodyPath(FLOWPROBE_BUILD).replace(/\.js$/, '.cache'));
  return `${what}, ${cached ? 'with its code cache' : 'WITHOUT its code cache (the warm-up run failed; it starts slower)'}`;
}

/** A genpcap.py capture, made once and kept in CACHE. */
export function genpcap(packets: number, flows: number, seed = 1): string {
  fs.mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `genpcap-${packets}-${flows}-${seed}.pcap`);
  if (!fs.existsSync(file)) {
    console.log(`making ${file} (genpcap.py --packets ${packets} --flows ${flows} --seed ${seed}) ...`);
    const tmp = `${file}.${process.pid}.tmp`;
    execFileSync('python3', [GENPCAP, tmp, '--packets', String(packets), '--flows', String(flows), '--seed', String(seed)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** Reads a file into the page cache, so the first timed run does not pay for the disk. */
export function warm(file: string): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
}

export interface Sink {
  readonly port: number;
  datagrams: number;
  bytes: number;
  /** Resolves once no datagram has arrived for `quietMs` (bounded by `maxMs`). */
  settle(quietMs?: number, maxMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

/** A UDP sink on 127.0.0.1 that counts what it receives; runs in the benchmark's own (otherwise idle) process. */
export async function startSink(): Promise<Sink> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 << 20 });
  let last = 0;
  const sink = {
    port: 0,
    datagrams: 0,
    bytes: 0,
    async settle(quietMs = 200, maxMs = 10_000): Promise<void> {
      const deadline = Date.now() + maxMs;
      while (Date.now() < deadline && Date.now() - last < quietMs) await sleep(50);
    },
    reset(): void {
      sink.datagrams = sink.bytes = 0;
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  sock.on('message', (m) => {
    sink.datagrams++;
    sink.bytes += m.length;
    last = Date.now();
  });
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => res());
  });
  sink.port = sock.address().port;
  return sink;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallS: number;
  /** CPU seconds of the command itself (user and system), from its last /proc sample and bash's `times`. */
  userS: number;
  sysS: number;
  /** Peak and latest resident set from /proc/PID/status, KiB (the last sample before exit). */
  hwmKiB: number;
  rssKiB: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  /** /proc sampling interval. */
  pollMs?: number;
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Called with the command's pid once it runs. */
  onStart?: (pid: number) => void;
}

/**
 * Runs a command to its end and measures it: wall time from start to exit, CPU time (bash's `times` for the
 * children it waited for: exact, whatever the sampling), and peak RSS (VmHWM, sampled from /proc).
 */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  const timesFile = path.join(os.tmpdir(), `flowprobe-bench-times.${process.pid}.${Math.random().toString(36).slice(2)}`);
  // bash starts the command in the background to learn its pid, waits for it, and writes its children's CPU times.
  const script = '"$@" & echo "pid $!" >&2; wait $!; rc=$?; times > "$FPB_TIMES"; exit $rc';
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, cmd, ...args] : [cmd, ...args];
  const t0 = performance.now();
  const child = spawn('bash', ['-c', script, 'bash', ...full], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...toolEnv(), ...opts.env, FPB_TIMES: timesFile },
  });
  let out = '';
  let err = '';
  let pid = 0;
  let hwm = 0;
  let rss = 0;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (!pid) {
      const m = /^pid (\d+)\n/m.exec(err);
      if (m) {
        pid = Number(m[1]);
        err = err.replace(m[0], '');
        opts.onStart?.(pid);
      }
    }
  });
  const sample = (): void => {
    if (!pid) return;
    const st = procStatus(pid);
    if (st) {
      hwm = Math.max(hwm, st.hwmKiB);
      rss = st.rssKiB;
    }
  };
  const timer = setInterval(sample, opts.pollMs ?? 20);
  const killer = setTimeout(() => {
    if (pid) process.kill(pid, 'SIGKILL');
  }, opts.timeoutMs ?? 600_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.once('close', (c, s) => res([c, s])),
  );
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(timer);
  clearTimeout(killer);
  let userS = NaN;
  let sysS = NaN;
  try {
    // Second line: the children's user and system time, "0m1.234s 0m0.056s".
    const lines = fs.readFileSync(timesFile, 'utf8').trim().split('\n');
    const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[1] ?? '');
    if (m) {
      userS = Number(m[1]) * 60 + Number(m[2]);
      sysS = Number(m[3]) * 60 + Number(m[4]);
    }
    fs.rmSync(timesFile);
  } catch {
    // bash was killed before writing them.
  }
  return { code, signal, wallS, userS, sysS, hwmKiB: hwm, rssKiB: rss, stdout: out, stderr: err };
}

/** VmHWM and VmRSS of a running process, KiB; null once it is gone. */
export function procStatus(pid: number): { hwmKiB: number; rssKiB: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const num = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { hwmKiB: num('VmHWM'), rssKiB: num('VmRSS') };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a running process has used so far, from /proc/PID/stat; null once it is gone. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14, 15.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Resident pages of a running process (statm), KiB. */
export function procRssKiB(pid: number): number | null {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KIB;
  } catch {
    return null;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A number from a "Label: 123" line of a summary (indented or not), or NaN. */
export function field(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:?\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** The shell form of a command, for the report. */
export function shown(cmd: string, args: string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Fixed-width table for the report. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e5) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Parses "--name value" and "--flag" options into a map (the benchmarks take a few numbers). */
export function options(defaults: Record<string, number | boolean>): Record<string, number | boolean> {
  const o = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--(no-)?/, '');
    if (!a.startsWith('--') || !(name in defaults)) {
      console.error(`bench: unknown option ${a}; options: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
      process.exit(2);
    }
    if (typeof defaults[name] === 'boolean') o[name] = !a.startsWith('--no-');
    else o[name] = Number(argv[++i]);
  }
  return o;
}

export function banner(title: string): void {
  console.log(`\n== ${title} ==  (${new Date().toISOString()}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)})`);
  if (STRIPPED.some((k) => process.env[k] !== undefined)) {
    console.log(`environment: ${STRIPPED.join(', ')} removed for the commands timed from their start (see toolEnv in bench/lib.ts)`);
  }
}

/**
 * Variables taken out of the measured commands' environment. Node reads the certificate bundle NODE_EXTRA_CA_CERTS
 * names when it starts, before any of our code runs: on machines that set it for every process (ours do, to
 * /etc/ssl/certs/ca-certificates.crt) that added 37 ms to each flowprobe start (node -e 0: 62 -> 25 ms), a
 * third of its start-up on a replay, for TLS that neither tool uses. softflowd reads no such variable.
 */
const STRIPPED = ['NODE_EXTRA_CA_CERTS'];

/** The environment measured commands run with: this process's, without STRIPPED. */
export function toolEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of STRIPPED) delete env[k];
  return env;
}
