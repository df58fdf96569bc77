/**
 * The flowcapd command as a test peer: started as a real process on a free loopback port with its own directory,
 * fed real UDP datagrams, stopped by signal, and its files read back through the store's reader (what flowdump
 * reads). Also a UDP tee that hands every datagram an exporter sends to several collectors at once, so flowcapd and
 * a real nfcapd see the very same exports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from '../helpers/nfcapd.js';
import { openRecordSource } from '../../src/store/reader.js';
import { FlowRecord } from '../../src/wire/record.js';

export const FLOWCAPD = fileURLToPath(new URL('../../bin/flowcapd.js', import.meta.url));
export const FLOWDUMP = fileURLToPath(new URL('../../bin/flowdump.js', import.meta.url));

export interface Flowcapd {
  readonly port: number;
  readonly dir: string;
  readonly proc: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves once the kernel holds no unread datagram for flowcapd's socket, and a moment more. */
  drained(): Promise<void>;
  /** Sends the signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  cleanup(): Promise<void>;
}

export interface FlowcapdOptions {
  /** Extra arguments; -p and -b 127.0.0.1 are given unless `bind` says otherwise. */
  args?: string[];
  /** No -l: print only. */
  noDir?: boolean;
  dir?: string;
  bind?: string;
}

export async function startFlowcapd(opts: FlowcapdOptions = {}): Promise<Flowcapd> {
  const port = await freeUdpPort();
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'flowcapd-')));
  const args = [FLOWCAPD, '-p', String(port), '-b', opts.bind ?? '127.0.0.1'];
  if (!opts.noDir) args.push('-l', dir);
  args.push(...(opts.args ?? []));
  // UTC file names, so tests can compute them.
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
  let err = '';
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const ok = await new Promise<boolean>((res) => {
    const t = setTimeout(() => res(false), 15_000);
    const check = (): void => {
      if (err.includes('listening on')) {
        clearTimeout(t);
        res(true);
      }
    };
    proc.stderr!.on('data', check);
    proc.once('exit', () => {
      clearTimeout(t);
      res(false);
    });
  });
  if (!ok) {
    proc.kill('SIGKILL');
    throw new Error(`flowcapd did not start: ${err.trim()}`);
  }
  const drained = async (): Promise<void> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const q = await rxQueue(port);
      if (q === 0 || q === null) break;
      if (Date.now() > deadline) throw new Error(`flowcapd on port ${port} still has ${q} bytes unread`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 150));
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return {
    port,
    dir,
    proc,
    stderr: () => err,
    stdout: () => out,
    drained,
    stop,
    async cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) await stop('SIGKILL');
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Unread bytes of the UDP socket bound to `port` on loopback (IPv4 or IPv6), from /proc; null if none. */
async function rxQueue(port: number): Promise<number | null> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(file, 'utf8');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex)) return parseInt(cols[4].split(':')[1], 16);
    }
  }
  return null;
}

/** Every flow in a directory's flow files (or the given files), as copies, in storage order. */
export async function readFlows(dirs: string[], files: string[] = [], warnings: string[] = []): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await openRecordSource({ files, dirs }, { warn: (l) => warnings.push(l) }).forEach((r) => {
    const c = new FlowRecord();
    c.copyFrom(r);
    out.push(c);
  });
  return out;
}

/** Sends datagrams one after the other to 127.0.0.1:port (or ::1), each after the previous one has left. */
export async function sendAll(port: number, datagrams: Uint8Array[], host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (const d of datagrams) {
      await new Promise<void>((res, rej) => s.send(d, port, host, (e) => (e ? rej(e) : res())));
    }
  } finally {
    s.close();
  }
}

export interface Tee {
  readonly port: number;
  /** Datagrams forwarded so far. */
  count(): number;
  close(): Promise<void>;
}

/** A UDP socket on 127.0.0.1 that forwards each datagram it receives to every target port, in order. */
export async function startTee(targets: number[]): Promise<Tee> {
  const s: Socket = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  s.setRecvBufferSize(32 * 1024 * 1024);
  let n = 0;
  s.on('message', (m) => {
    n++;
    for (const t of targets) s.send(m, t, '127.0.0.1');
  });
  return {
    port: s.address().port,
    count: () => n,
    close: () => new Promise((res) => s.close(() => res())),
  };
}
