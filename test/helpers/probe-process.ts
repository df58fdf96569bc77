/**
 * The flowprobe command as a real process for tests: started as `node bin/flowprobe.js` (not through npx, so
 * a signal reaches the probe itself), with its output kept, its control socket polled until it answers, and
 * everything still running killed by pid when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseStatistics } from '../../src/control/format.js';
import type { StatsReport } from '../../src/control/report.js';
import { ask } from '../control/sockets.js';

export const FLOWPROBE = path.resolve(__dirname, '../../bin/flowprobe.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProbeProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  running(): boolean;
  /** Resolves with the exit status; throws (with stderr) if the process is still running after `ms`. */
  waitExit(ms?: number): Promise<Exit>;
}

const started = new Set<ChildProcess>();

/** Starts `flowprobe args`; with `netns`, inside that network namespace (`ip netns exec` execs, so the pid is the probe's). */
export function startProbe(args: string[], opts: { netns?: string; env?: NodeJS.ProcessEnv } = {}): ProbeProcess {
  const argv = [process.execPath, FLOWPROBE, ...args];
  if (opts.netns) argv.unshift('ip', 'netns', 'exec', opts.netns);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // 'close' (not 'exit') so that stdout and stderr have been read to the end.
  const exit = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  void exit.then(() => started.delete(child));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    child,
    stdout: () => out,
    stderr: () => err,
    running,
    async waitExit(ms = 30_000): Promise<Exit> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`flowprobe ${args.join(' ')} still running after ${ms} ms; stderr: ${err.trim()}`)), ms);
      });
      try {
        return await Promise.race([exit, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** For afterAll: SIGKILL every probe this file started that is still running, and wait for it. */
export async function killProbes(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of started) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    waits.push(new Promise((r) => c.once('close', r)));
    c.kill('SIGKILL');
  }
  await Promise.all(waits);
  started.clear();
}

/** Polls `read` every 25 ms until `ok` holds; throws naming `what` and the last value after `ms`. */
export async function until<T>(what: string, read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}; last: ${JSON.stringify(v)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends one control command over the socket and returns the whole reply ('' if nobody answers). */
export async function control(sock: string, cmd: string): Promise<string> {
  return (await ask(sock, `${cmd}\n`)).reply;
}

export async function statistics(sock: string): Promise<StatsReport> {
  return parseStatistics(await control(sock, 'statistics'));
}

/** Waits until the probe's `Packets processed` reaches exactly n, and returns those statistics. */
export function waitProcessed(sock: string, n: number): Promise<StatsReport> {
  return until(`${n} packets processed`, () => statistics(sock), (s) => s.packetsProcessed === n);
}

/**
 * Waits until the probe answers on its control socket (it opens the socket after the capture, so from then on it
 * sees packets); fails at once with the probe's stderr if it exits instead.
 */
export async function waitReady(p: ProbeProcess, sock: string, ms = 30_000): Promise<void> {
  await until(
    `flowprobe to answer on ${sock}`,
    async () => {
      if (!p.running()) throw new Error(`flowprobe exited during start-up: ${p.stderr().trim()}`);
      return control(sock, 'statistics');
    },
    (reply) => reply.startsWith(`flowprobe[${p.pid}]: `),
    ms,
  );
}

/** Whether a process exists and is not a zombie (a daemon's parent may not reap it at once). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
