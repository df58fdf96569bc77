/**
 * flowprobectl driving a real softflowd 1.1.0 (Debian's), live on the loopback interface with UDP traffic the test
 * makes and a collector the test reads: every command, with its effect checked where softflowd shows one.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sendCommand } from '../../src/control/client.js';
import { parseStatistics } from '../../src/control/format.js';
import { startControlServer } from '../../src/control/server.js';
import { FakeProbe } from './fake-probe.js';
import { flowprobectl } from './run-ctl.js';
import { eventually } from './sockets.js';

const SOFTFLOWD = '/usr/sbin/softflowd';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-softflowd-'));

const SOFTFLOWD_HELP =
  'Valid control words are:\n\tdebug+ debug- delete-all dump-flows exit expire-all\n' +
  '\tshutdown start-gather statistics stop-gather timeouts\n\tsend-template\n';

interface Daemon {
  proc: ChildProcess;
  sock: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const daemons: Daemon[] = [];
const sockets: dgram.Socket[] = [];

afterAll(() => {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
  for (const s of sockets) s.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/**
 * softflowd in the foreground on lo, watching only datagrams to `sinkPort`, exporting v5 to `collectorPort`.
 * It binds its control socket after opening the capture, so the socket appearing means it is up.
 */
async function startSoftflowd(name: string, sinkPort: number, collectorPort: number): Promise<Daemon> {
  expect(fs.existsSync(SOFTFLOWD), `${SOFTFLOWD} is missing: apt-get install softflowd`).toBe(true);
  const sock = path.join(tmp, `${name}.ctl`);
  const args = ['-i', 'lo', '-d', '-v', '5', '-t', 'udp=123', '-t', 'maxlife=4h', '-c', sock, '-n', `127.0.0.1:${collectorPort}`];
  const proc = spawn(SOFTFLOWD, [...args, `udp and dst port ${sinkPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const d: Daemon = { proc, sock, stderr: () => err, exited };
  daemons.push(d);
  const up = await eventually(() => fs.existsSync(sock) || proc.exitCode !== null, Boolean, 10_000);
  expect(up && proc.exitCode === null, `softflowd did not start (it needs root for -i lo): ${err}`).toBe(true);
  return d;
}

/**
 * Sends `rounds` datagrams from each socket. softflowd 1.1.0 reads lo without immediate mode, so packets reach it
 * only when a ring block fills: sending in volume is how a test makes it see them (reference §6.1 item 1).
 */
async function traffic(from: dgram.Socket[], sinkPort: number, rounds: number): Promise<void> {
  const payload = Buffer.alloc(200, 0x55);
  for (let i = 0; i < rounds; i++) {
    await Promise.all(from.map((s) => new Promise<void>((r) => s.send(payload, sinkPort, '127.0.0.1', () => r()))));
  }
}

/**
 * Keeps sending until softflowd reports at least `atLeast` active flows (bounded: it gives up after 20 bursts);
 * returns the count it reported. It can be more: datagrams of earlier flows still waiting in a ring block arrive
 * with the new ones and start those flows again.
 */
async function untilActive(d: Daemon, from: dgram.Socket[], sinkPort: number, atLeast: number): Promise<number> {
  let active = -1;
  for (let burst = 0; burst < 20 && active < atLeast; burst++) {
    await traffic(from, sinkPort, 1500);
    await new Promise((r) => setTimeout(r, 100));
    active = parseStatistics(await sendCommand(d.sock, 'statistics', { timeoutMs: 10_000 })).activeFlows;
  }
  return active;
}

describe('flowprobectl drives softflowd', () => {
  let sink: dgram.Socket;
  let collector: dgram.Socket;
  const records: number[] = [];
  let d: Daemon;
  let pid: number;
  const line = (t: string): string => `softflowd[${pid}]: ${t}\n`;

  beforeAll(async () => {
    sink = await udpSocket();
    collector = await udpSocket();
    collector.on('message', (m: Buffer) => {
      if (m.length >= 24 && m.readUInt16BE(0) === 5) records.push(m.readUInt16BE(2));
    });
    d = await startSoftflowd('main', sink.address().port, collector.address().port);
    pid = d.proc.pid!;
  }, 30_000);

  it('help, timeouts, send-template, debug and gather commands', async () => {
    const run = async (cmd: string): Promise<string> => {
      const r = await flowprobectl(['-c', d.sock, cmd]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    expect(await run('help')).toBe(SOFTFLOWD_HELP);
    expect(await run('timeouts')).toBe(
      `${line('Printing timeouts:')}           TCP timeout: 3600s\n  TCP post-RST timeout: 120s\n  TCP post-FIN timeout: 300s\n` +
        '           UDP timeout: 123s\n          ICMP timeout: 300s\n       General timeout: 3600s\n' +
        '      Maximum lifetime: 14400s\n       Expiry interval: 60s\n',
    );
    expect(await run('send-template')).toBe(line('Template will be sent at next flow export'));
    expect(await run('debug+')).toBe(line('Debug level increased.'));
    expect(await run('debug-')).toBe(line('Debug level decreased.'));
    expect(await run('stop-gather')).toBe(line('Data collection stopped.'));
    expect(await run('start-gather')).toBe(line('Data collection resumed.'));
    const unknown = await flowprobectl(['-c', d.sock, 'statistics-json']);
    expect(unknown).toEqual({ stdout: 'Unknown control command "statistics-json"\n', stderr: '', code: 2 });
  }, 60_000);

  it('statistics, dump-flows and expire-all over live flows, with the export checked at a collector', async () => {
    const senders = [await udpSocket(), await udpSocket(), await udpSocket()];
    expect(await untilActive(d, senders, sink.address().port, 3)).toBe(3);

    const stats = await flowprobectl(['-c', d.sock, 'statistics']);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(new RegExp(`^softflowd\\[${pid}\\]: Accumulated statistics since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d UTC:\\nNumber of active flows: 3\\n`));
    expect(stats.stdout).toContain('\nPackets received by libpcap: ');

    const json = await flowprobectl(['-c', d.sock, 'statistics', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const before = JSON.parse(json.stdout);
    expect(before).toMatchObject({ daemon: 'softflowd', pid, activeFlows: 3, flowsExpired: 0, expiredFlows: null, protocols: [] });
    expect(before.libpcap.received).toBeGreaterThan(0);
    expect(before.packetsProcessed).toBeGreaterThan(0);

    const dump = await flowprobectl(['-c', d.sock, 'dump-flows']);
    expect(dump.code).toBe(0);
    expect(dump.stdout.startsWith(line('Dumping flow data:'))).toBe(true);
    const active = dump.stdout.split('\n').filter((l) => l.startsWith('ACTIVE seq:'));
    expect(active).toHaveLength(3);
    for (const s of senders) {
      const port = s.address().port;
      const mine = active.filter((l) => l.includes(`]:${port} <> `) || l.includes(`<> [127.0.0.1]:${port} `));
      expect(mine, `flow from port ${port}`).toHaveLength(1);
      expect(mine[0]).toContain(`:${sink.address().port} `);
      expect(mine[0]).toContain(' proto:17 ');
    }
    expect(dump.stdout.match(/^EXPIRY EVENT for flow \d+ in 1\d\d seconds$/gm)).toHaveLength(3);

    const expire = await flowprobectl(['-c', d.sock, 'expire-all']);
    expect(expire).toEqual({ stdout: line('Expired 3 flows.'), stderr: '', code: 0 });
    const exported = await eventually(() => records.reduce((a, b) => a + b, 0), (n) => n >= 3);
    expect(exported).toBe(3);

    const after = JSON.parse((await flowprobectl(['-c', d.sock, 'statistics', '--json'])).stdout);
    expect(after).toMatchObject({ activeFlows: 0, flowsExpired: 3, flowsExported: 3, recordsExported: 3 });
    expect(after.expiryReasons.flushed).toBe(3);
    expect(after.protocols).toHaveLength(1);
    expect(after.protocols[0]).toMatchObject({ protocol: 17, name: 'udp' });
    // The JSON is the text read back: the same figures either way.
    const text = (await flowprobectl(['-c', d.sock, 'statistics'])).stdout;
    expect(text).toContain('Flows expired: 3 (0 forced)\n');
    expect(text).toContain(`           udp (17): ${String(after.protocols[0].octets).padStart(14)} ${String(after.protocols[0].packets).padStart(12)}`);
  }, 120_000);

  it('delete-all drops flows without exporting them', async () => {
    const senders = [await udpSocket(), await udpSocket()];
    const active = await untilActive(d, senders, sink.address().port, 2);
    expect(active).toBeGreaterThanOrEqual(2);
    const exportedBefore = records.reduce((a, b) => a + b, 0);
    const del = await flowprobectl(['-c', d.sock, 'delete-all']);
    expect(del).toEqual({ stdout: line(`Deleted ${active} flows.`), stderr: '', code: 0 });
    const after = JSON.parse((await flowprobectl(['-c', d.sock, 'statistics', '--json'])).stdout);
    // Deleted flows are neither expired nor exported.
    expect(after).toMatchObject({ activeFlows: 0, flowsExpired: 3 });
    expect(records.reduce((a, b) => a + b, 0)).toBe(exportedBefore);
  }, 120_000);

  it('flowprobe does not take the socket of a running softflowd', async () => {
    await expect(startControlServer({ path: d.sock, handler: new FakeProbe() })).rejects.toThrow(
      `another flowprobe is already listening on ${d.sock}`,
    );
    expect((await flowprobectl(['-c', d.sock, 'help'])).stdout).toBe(SOFTFLOWD_HELP);
  }, 30_000);

  it('shutdown exports what is left and ends softflowd', async () => {
    const senders = [await udpSocket()];
    const active = await untilActive(d, senders, sink.address().port, 1);
    expect(active).toBeGreaterThanOrEqual(1);
    const exportedBefore = records.reduce((a, b) => a + b, 0);
    const r = await flowprobectl(['-c', d.sock, 'shutdown']);
    expect(r).toEqual({ stdout: line('Shutting down gracefully...'), stderr: '', code: 0 });
    // softflowd 1.1.0 exits 1 after shutdown and exit in the foreground (seen here; the reference's §5 says 0).
    expect(await d.exited).toBe(1);
    const want = exportedBefore + active;
    expect(await eventually(() => records.reduce((a, b) => a + b, 0), (n) => n >= want)).toBe(want);
    expect(d.stderr()).toContain('Shutting down on user request');
    // Now nothing answers there.
    const gone = await flowprobectl(['-c', d.sock, 'statistics']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^flowprobectl: ctl connect\(".*"\) error: /);
  }, 120_000);
});

describe('flowprobectl exit against softflowd, and a crashed softflowd\'s socket', () => {
  it('exit ends softflowd without exporting', async () => {
    const sink = await udpSocket();
    const collector = await udpSocket();
    const datagrams: string[] = [];
    collector.on('message', (m: Buffer, from) => datagrams.push(`${m.length} bytes from port ${from.port}: version ${m.readUInt16BE(0)} count ${m.readUInt16BE(2)}`));
    const d = await startSoftflowd('exit', sink.address().port, collector.address().port);
    expect(await untilActive(d, [await udpSocket()], sink.address().port, 1)).toBeGreaterThanOrEqual(1);
    const r = await flowprobectl(['-c', d.sock, 'exit']);
    expect(r).toEqual({ stdout: `softflowd[${d.proc.pid}]: Exiting now...\n`, stderr: '', code: 0 });
    expect(await d.exited).toBe(1);
    expect(d.stderr()).toContain('Exiting immediately on user request');
    await new Promise((res) => setTimeout(res, 300));
    expect(datagrams).toEqual([]);
  }, 120_000);

  it('replaces the socket a killed softflowd left behind', async () => {
    const sink = await udpSocket();
    const d = await startSoftflowd('crashed', sink.address().port, (await udpSocket()).address().port);
    d.proc.kill('SIGKILL');
    await d.exited;
    expect(fs.statSync(d.sock).isSocket()).toBe(true);
    const stale = await flowprobectl(['-c', d.sock, 'statistics']);
    expect(stale.stderr).toBe(
      `flowprobectl: ctl connect("${d.sock}") error: Connection refused (nothing is listening on it: the daemon that made it has exited)\n`,
    );
    const server = await startControlServer({ path: d.sock, handler: new FakeProbe(), pid: 99 });
    try {
      expect((await flowprobectl(['-c', d.sock, 'send-template'])).stdout).toBe('flowprobe[99]: Template will be sent at next flow export\n');
    } finally {
      await server.close();
    }
  }, 60_000);
});
