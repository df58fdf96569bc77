/**
 * A daemon's log goes to syslog: the line format (RFC 3164), and a daemonized probe's lines arriving at a real
 * Unix datagram socket (a python3 listener standing in for the log daemon on /dev/log).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { syslogLine } from '../../src/cli/syslog.js';
import { alive, killProbes, startProbe, until } from '../helpers/probe-process.js';
import { closeSinks, sinkPort } from '../helpers/udp-traffic.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-syslog-'));
const listeners: ChildProcess[] = [];
const daemons: number[] = [];

afterAll(async () => {
  await killProbes();
  for (const pid of daemons) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const l of listeners) l.kill('SIGKILL');
  closeSinks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the syslog line', () => {
  it('is <PRI>Mmm dd hh:mm:ss ident[pid]: message, facility daemon, the day space-padded, one line', () => {
    const when = new Date(2026, 0, 5, 3, 4, 5);
    expect(syslogLine('flowprobe', 42, 'export to 127.0.0.1:9 failed: ECONNREFUSED', when)).toBe(
      '<30>Jan  5 03:04:05 flowprobe[42]: export to 127.0.0.1:9 failed: ECONNREFUSED',
    );
    expect(syslogLine('flowprobe', 7, 'two\nlines', new Date(2026, 10, 25, 23, 59, 0), 'err')).toBe(
      '<27>Nov 25 23:59:00 flowprobe[7]: two lines',
    );
  });
});

/** A Unix datagram socket at `at` that prints each datagram it gets as one line. */
function listen(at: string): { lines: () => string[] } {
  const code = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("ready", flush=True)',
    'while True:',
    '    print(s.recv(65536).decode(), flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', code, at], { stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { lines: () => out.split('\n').filter((l) => l && l !== 'ready') };
}

describe('daemon mode', () => {
  it('sends the daemon\'s log lines to the syslog socket, from its own pid, until it exits', async () => {
    const logSock = path.join(tmp, 'log');
    const log = listen(logSock);
    await until('the log socket', () => fs.existsSync(logSock), (e) => e);
    const sock = path.join(tmp, 'probe.ctl');
    const pidFile = path.join(tmp, 'probe.pid');
    const port = await sinkPort();
    const parent = startProbe(['-i', 'lo', '-n', `127.0.0.1:${port}`, '-v', '9', '-c', sock, '-p', pidFile, 'udp', 'port', '9'], {
      env: { ...process.env, FLOWPROBE_SYSLOG_SOCKET: logSock },
    });
    expect(await parent.waitExit()).toEqual({ code: 0, signal: null });
    expect(parent.stderr()).toBe('');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    daemons.push(pid);
    const stamp = '[A-Z][a-z]{2} [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d';
    await until('the start-up line', () => log.lines(), (l) => l.length >= 1);
    expect(log.lines()[0]).toMatch(new RegExp(`^<30>${stamp} flowprobe\\[${pid}\\]: capturing on lo, exporting to 127\\.0\\.0\\.1:${port} \\(NetFlow v9\\)$`));
    process.kill(pid, 'SIGTERM');
    await until('the daemon to exit', () => alive(pid), (a) => !a);
    await until('the exit line', () => log.lines(), (l) => l.length >= 2);
    expect(log.lines()[1]).toMatch(new RegExp(`^<30>${stamp} flowprobe\\[${pid}\\]: SIGTERM: expiring and exporting all flows, then exiting$`));
  }, 60_000);
});
