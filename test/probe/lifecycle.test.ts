/**
 * The probe's life as a process: signals in the foreground, daemon mode and its start-up errors, a stale socket
 * from a crashed run, a second probe on a live socket, and `-c` together with `-r`. Live probes capture on `lo`
 * with a BPF filter for a UDP port the test picked.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNfcapd } from '../helpers/nfcapd.js';
import { alive, control, killProbes, startProbe, statistics, until, waitProcessed, waitReady } from '../helpers/probe-process.js';
import { IP_BYTES, closeSinks, sendFlow, sinkPort } from '../helpers/udp-traffic.js';
import { genpcapTool } from '../helpers/shared.js';
import { runTool, SOFTFLOWCTL } from '../control/run-ctl.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-life-'));
/** Daemons this file started (not our children, so killProbes does not know them). */
const daemons: number[] = [];

afterAll(async () => {
  await killProbes();
  for (const pid of daemons) if (alive(pid)) process.kill(pid, 'SIGKILL');
  closeSinks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Options of a live probe on lo exporting to `collector` and capturing only UDP `port`. */
function liveArgs(collector: number, port: number, sock: string, pidFile: string): string[] {
  return ['-i', 'lo', '-n', `127.0.0.1:${collector}`, '-v', '9', '-c', sock, '-p', pidFile, 'udp', 'port', String(port)];
}

describe('signals in the foreground', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s exports every flow, removes socket and pidfile, exits 0', async (sig) => {
    const nf = await startNfcapd();
    try {
      const port = await sinkPort();
      const sock = path.join(tmp, `${sig}.ctl`);
      const pidFile = path.join(tmp, `${sig}.pid`);
      const probe = startProbe(['-d', ...liveArgs(nf.port, port, sock, pidFile)]);
      await waitReady(probe, sock);
      expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${probe.pid}\n`);
      const from = await sendFlow(port, 4);
      expect((await waitProcessed(sock, 4)).activeFlows).toBe(1);

      process.kill(probe.pid, sig);
      expect(await probe.waitExit()).toEqual({ code: 0, signal: null });
      expect(probe.stderr()).toContain(`${sig}: expiring and exporting all flows, then exiting`);
      expect(fs.existsSync(sock)).toBe(false);
      expect(fs.existsSync(pidFile)).toBe(false);
      const flows = await nf.flows();
      expect(flows.map((f) => [f.srcPort, f.dstPort, f.packets, f.bytes])).toEqual([[from, port, 4, 4 * IP_BYTES]]);
    } finally {
      await nf.cleanup();
    }
  }, 60_000);
});

describe('daemon mode', () => {
  it('returns 0 once the daemon is ready; the pidfile holds the daemon; shutdown stops it', async () => {
    const nf = await startNfcapd();
    try {
      const port = await sinkPort();
      const sock = path.join(tmp, 'daemon.ctl');
      const pidFile = path.join(tmp, 'daemon.pid');
      const parent = startProbe(liveArgs(nf.port, port, sock, pidFile));
      expect(await parent.waitExit()).toEqual({ code: 0, signal: null });
      expect(parent.stderr()).toBe('');
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      daemons.push(pid);
      expect(pid).not.toBe(parent.pid);
      expect(alive(pid)).toBe(true);
      // Ready means ready: no waiting, the daemon answers as soon as the command has returned.
      expect((await statistics(sock)).pid).toBe(pid);
      expect(fs.statSync(sock).mode & 0o777).toBe(0o600);

      const from = await sendFlow(port, 6);
      await waitProcessed(sock, 6);
      expect(await control(sock, 'shutdown')).toBe(`flowprobe[${pid}]: Shutting down gracefully...\n`);
      await until('the daemon to exit', () => alive(pid), (a) => !a);
      expect(fs.existsSync(sock)).toBe(false);
      expect(fs.existsSync(pidFile)).toBe(false);
      const flows = await nf.flows();
      expect(flows.map((f) => [f.srcPort, f.packets, f.bytes])).toEqual([[from, 6, 6 * IP_BYTES]]);
    } finally {
      await nf.cleanup();
    }
  }, 60_000);

  it.each([
    ['no such device', ['-i', 'nosuchdev0'], /^flowprobe: [^\n]*nosuchdev0[^\n]*\n$/],
    ['pid file in a missing directory', ['-i', 'lo', '-p', '/nonexistent-flowprobe-dir/x.pid'], /^flowprobe: cannot write pid file \/nonexistent-flowprobe-dir\/x\.pid: No such file or directory\n$/],
  ])('a setup error (%s) is reported by the command: one line, exit 1, nothing left behind', async (_what, args, message) => {
    const sock = path.join(tmp, 'setup.ctl');
    const pidFile = path.join(tmp, 'setup.pid');
    // The last -p given wins, so the case's own pid file replaces the good one.
    const parent = startProbe(['-n', '127.0.0.1:9', '-c', sock, '-p', pidFile, ...args, 'udp', 'port', '9']);
    expect((await parent.waitExit()).code).toBe(1);
    expect(parent.stderr()).toMatch(message);
    expect(fs.existsSync(sock)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
  }, 60_000);
});

describe('the pid file', () => {
  it('a second probe given a running probe\'s pid file fails with one line; a probe removes only its own pid file', async () => {
    const port = await sinkPort();
    const pidFile = path.join(tmp, 'shared.pid');
    const first = startProbe(['-d', ...liveArgs(9, port, path.join(tmp, 'first.ctl'), pidFile)]);
    await waitReady(first, path.join(tmp, 'first.ctl'));
    const second = startProbe(['-d', ...liveArgs(9, port, path.join(tmp, 'second.ctl'), pidFile)]);
    expect((await second.waitExit()).code).toBe(1);
    expect(second.stderr()).toMatch(new RegExp(`^flowprobe: pid file .*shared\\.pid names process ${first.pid}, which is running \\(another flowprobe\\?\\)\\n$`));
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${first.pid}\n`);
    // Someone else's pid there now (pid 1 is always running): the first probe leaves the file alone on its way out.
    fs.writeFileSync(pidFile, '1\n');
    process.kill(first.pid, 'SIGTERM');
    expect((await first.waitExit()).code).toBe(0);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe('1\n');
  }, 60_000);
});

describe('the control socket path', () => {
  it('a stale socket left by a SIGKILLed probe is replaced', async () => {
    const port = await sinkPort();
    const sock = path.join(tmp, 'stale.ctl');
    const pidFile = path.join(tmp, 'stale.pid');
    const crashed = startProbe(['-d', ...liveArgs(9, port, sock, pidFile)]);
    await waitReady(crashed, sock);
    crashed.child.kill('SIGKILL');
    expect((await crashed.waitExit()).signal).toBe('SIGKILL');
    expect(fs.lstatSync(sock).isSocket()).toBe(true);

    const next = startProbe(['-d', ...liveArgs(9, port, sock, pidFile)]);
    await waitReady(next, sock);
    expect(next.stderr()).not.toMatch(/error|cannot|another/i);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${next.pid}\n`);
    process.kill(next.pid, 'SIGTERM');
    expect((await next.waitExit()).code).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
  }, 60_000);

  it.each([
    ['in the foreground', ['-d']],
    ['in daemon mode', []],
  ])('a second probe on a live socket %s fails with one clear line, exit 1, and leaves the first one alone', async (how, mode) => {
    const port = await sinkPort();
    const sock = path.join(tmp, `busy-${how.replace(/\W+/g, '-')}.ctl`);
    const pidFile = path.join(tmp, `busy-${how.replace(/\W+/g, '-')}.pid`);
    const first = startProbe(['-d', ...liveArgs(9, port, sock, pidFile)]);
    await waitReady(first, sock);
    const ino = fs.statSync(sock).ino;

    const second = startProbe([...mode, ...liveArgs(9, port, sock, pidFile)]);
    expect((await second.waitExit()).code).toBe(1);
    expect(second.stderr()).toBe(`flowprobe: another flowprobe is already listening on ${sock}; stop it first or give another path\n`);
    expect(fs.statSync(sock).ino).toBe(ino);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${first.pid}\n`);
    expect((await statistics(sock)).pid).toBe(first.pid);

    process.kill(first.pid, 'SIGTERM');
    expect((await first.waitExit()).code).toBe(0);
  }, 60_000);

  it('--ctl-mode sets the socket file\'s permissions, so a group can be let in; the socket still answers', async () => {
    const port = await sinkPort();
    const sock = path.join(tmp, 'mode.ctl');
    const probe = startProbe(['-d', '--ctl-mode', '0660', ...liveArgs(9, port, sock, path.join(tmp, 'mode.pid'))]);
    await waitReady(probe, sock);
    expect(fs.statSync(sock).mode & 0o777).toBe(0o660);
    expect((await statistics(sock)).pid).toBe(probe.pid);
    process.kill(probe.pid, 'SIGTERM');
    expect((await probe.waitExit()).code).toBe(0);
  }, 60_000);

  it.each([
    ['0400', /^flowprobe: --ctl-mode 0400: the owner needs write permission to use the socket\n$/],
    ['rw-rw----', /^flowprobe: --ctl-mode rw-rw----: expected octal permissions such as 0600 or 0660\n$/],
    ['4770', /^flowprobe: --ctl-mode 4770: expected octal permissions such as 0600 or 0660\n$/],
  ])('--ctl-mode %s is refused with one line and exit 1, before any socket exists', async (mode, message) => {
    const sock = path.join(tmp, 'badmode.ctl');
    const probe = startProbe(['-d', '--ctl-mode', mode, ...liveArgs(9, 9, sock, path.join(tmp, 'badmode.pid'))]);
    expect((await probe.waitExit()).code).toBe(1);
    expect(probe.stderr()).toMatch(message);
    expect(fs.existsSync(sock)).toBe(false);
  }, 60_000);
});

describe('-c with -r', () => {
  const PACKETS = 200_000;
  let big = '';
  beforeAll(() => {
    big = path.join(tmp, 'genpcap-200k.pcap');
    execFileSync('python3', [genpcapTool(), big, '--packets', String(PACKETS), '--flows', '20000', '--seed', '6']);
  }, 60_000);
  /**
   * Paced export holds the reading back (it waits while 512 datagrams are queued): this file makes some 2,900
   * datagrams, so at 1,000 a second the reading lasts over two seconds however fast the machine is.
   */
  const readArgs = (collector: number, sock: string): string[] =>
    ['-r', big, '-n', `127.0.0.1:${collector}`, '-v', '9', '-c', sock, '--export-rate', '1000', '--no-progress'];

  it('the socket answers while the file is read, and the probe exits by itself when done, removing it', async () => {
    const nf = await startNfcapd();
    try {
      const sock = path.join(tmp, 'file.ctl');
      const probe = startProbe(readArgs(nf.port, sock));
      await waitReady(probe, sock);
      const during = await until('statistics in the middle of the file', () => statistics(sock), (s) => s.packetsProcessed > 0);
      expect(probe.running()).toBe(true);
      expect(during.packetsProcessed).toBeLessThan(PACKETS);
      expect(during.libpcap).toBeNull();
      // Debian's softflowctl too, and the reading goes on meanwhile.
      const text = (await runTool(SOFTFLOWCTL, ['-c', sock, 'statistics'])).stdout;
      expect(text).toMatch(new RegExp(`^flowprobe\\[${probe.pid}\\]: Accumulated statistics since `));
      await until('reading to go on', () => statistics(sock), (s) => s.packetsProcessed > during.packetsProcessed);

      expect(await probe.waitExit(120_000)).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(sock)).toBe(false);
      expect(probe.stdout()).toContain(`Packets read: ${PACKETS}\n`);
      const records = Number(/Flows exported: (\d+) records/.exec(probe.stdout())?.[1]);
      expect(records).toBeGreaterThan(50_000);
      await nf.stop();
      expect(nf.log()).toMatch(new RegExp(`Flows: ${records}, .*Sequence Errors: 0, Bad Packets: 0`));
    } finally {
      await nf.cleanup();
    }
  }, 120_000);

  it('stop-gather pauses the reading; shutdown then exports what was read and exits 0', async () => {
    const nf = await startNfcapd();
    try {
      const sock = path.join(tmp, 'file-stop.ctl');
      const probe = startProbe(readArgs(nf.port, sock));
      await waitReady(probe, sock);
      expect(await control(sock, 'stop-gather')).toBe(`flowprobe[${probe.pid}]: Data collection stopped.\n`);
      const paused = (await statistics(sock)).packetsProcessed;
      expect(paused).toBeLessThan(PACKETS);
      expect(await control(sock, 'shutdown')).toBe(`flowprobe[${probe.pid}]: Shutting down gracefully...\n`);
      expect(await probe.waitExit(60_000)).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(sock)).toBe(false);
      // Stopped where it was paused: the summary counts the packets read, and every flow made of them went out.
      const read = Number(/Packets read: (\d+)/.exec(probe.stdout())?.[1]);
      expect(read).toBeLessThan(PACKETS);
      expect(Number(/Packets processed: (\d+)/.exec(probe.stdout())?.[1])).toBe(paused);
      const records = Number(/Flows exported: (\d+) records/.exec(probe.stdout())?.[1]);
      await nf.stop();
      expect(nf.log()).toMatch(new RegExp(`Flows: ${records}, .*Sequence Errors: 0, Bad Packets: 0`));
    } finally {
      await nf.cleanup();
    }
  }, 120_000);
});
