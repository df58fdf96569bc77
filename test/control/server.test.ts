import { describe, it, expect, beforeEach, afterEach, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startControlServer, ControlSocketError, type ControlServer, type ControlServerOptions } from '../../src/control/server.js';
import { formatFlowDumpHeader, formatFlowEntry, formatStatistics, HELP_TEXT } from '../../src/control/format.js';
import { toStatsReport } from '../../src/control/report.js';
import { FakeProbe, end, v4 } from './fake-probe.js';
import { ask, eventually, openFds, silentClient } from './sockets.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-ctl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const freshPath = (): string => path.join(tmp, `c${++n}.ctl`);
const PID = 4242;

let probe: FakeProbe;
let server: ControlServer | null;
let sockPath: string;
const logged: string[] = [];

async function start(extra: Partial<ControlServerOptions> = {}): Promise<ControlServer> {
  sockPath = extra.path ?? freshPath();
  server = await startControlServer({ path: sockPath, handler: probe, pid: PID, log: (m) => logged.push(m), ...extra });
  return server;
}

beforeEach(() => {
  probe = new FakeProbe();
  probe.addFlow(17, end(v4(10, 0, 0, 1), 5353, 300, 3), end(v4(10, 0, 0, 2), 53, 900, 3));
  probe.addFlow(6, end(v4(10, 0, 0, 1), 40000, 4000, 10, { tcpFlags: 0x1b }), end(v4(192, 0, 2, 80), 443, 64000, 50, { tcpFlags: 0x1b }));
  server = null;
  logged.length = 0;
});
afterEach(async () => {
  await server?.close();
});

describe('commands', () => {
  it('answers every softflowd command with its reply text, as flowprobe[pid]', async () => {
    await start();
    const line = (t: string): string => `flowprobe[${PID}]: ${t}\n`;
    const q = async (cmd: string): Promise<string> => (await ask(sockPath, `${cmd}\n`)).reply;

    expect(await q('help')).toBe(HELP_TEXT);
    expect(HELP_TEXT).toBe(
      'Valid control words are:\n\tdebug+ debug- delete-all dump-flows exit expire-all\n' +
        '\tshutdown start-gather statistics stop-gather timeouts\n\tsend-template statistics-json\n',
    );
    const stats = await q('statistics');
    expect(stats).toBe(formatStatistics(toStatsReport(probe.statistics(), 'flowprobe', PID)));
    expect(stats).toMatch(/^flowprobe\[4242\]: Accumulated statistics since 2026-11-24T19:48:15 UTC:\nNumber of active flows: 2\nPackets processed: 66\n/);

    const dump = await q('dump-flows');
    expect(dump).toBe(formatFlowDumpHeader('flowprobe', PID) + probe.flows.map((f) => formatFlowEntry(f, probe.now)).join(''));
    expect(dump).toContain('ACTIVE seq:2 [10.0.0.1]:40000 <> [192.0.2.80]:443 proto:6 octets>:4000 packets>:10 octets<:64000 packets<:50');
    expect(dump).toContain('EXPIRY EVENT for flow 2 in 300 seconds\n\n');

    expect(await q('timeouts')).toContain(`flowprobe[${PID}]: Printing timeouts:\n           TCP timeout: 3600s\n`);
    expect(await q('timeouts')).toContain('           UDP timeout: 123s\n');
    expect(await q('send-template')).toBe(line('Template will be sent at next flow export'));
    expect(await q('debug+')).toBe(line('Debug level increased.'));
    expect(probe.debugLevel).toBe(1);
    expect(await q('debug-')).toBe(line('Debug level decreased.'));
    expect(probe.debugLevel).toBe(0);
    expect(await q('stop-gather')).toBe(line('Data collection stopped.'));
    expect(probe.gathering).toBe(false);
    expect(await q('start-gather')).toBe(line('Data collection resumed.'));
    expect(probe.gathering).toBe(true);

    expect(await q('expire-all')).toBe(line('Expired 2 flows.'));
    const after = await q('statistics');
    expect(after).toContain('Flows expired: 2 (0 forced)\nFlows exported: 4 (4 records) in 1 packets (0 failures)\n');
    expect(after).toContain('   flushed =         2\n');
    expect(after).toContain('            tcp (6):          68000           60       2.00s       2.00s\n');
    expect(after).toContain('           udp (17):           1200            6       2.00s       2.00s\n');
    expect(await q('dump-flows')).toBe(`flowprobe[${PID}]: Dumping flow data:\n`);

    probe.addFlow(1, end(v4(10, 0, 0, 1), 0, 84, 1), end(v4(10, 0, 0, 9), 0x0800, 0, 0));
    expect(await q('delete-all')).toBe(line('Deleted 1 flows.'));
    expect(await q('delete-all')).toBe(line('Deleted 0 flows.'));
    expect(probe.calls).not.toContain('shutdown');
  });

  it('answers statistics-json with the same figures as statistics', async () => {
    await start();
    await ask(sockPath, 'expire-all\n');
    const { reply } = await ask(sockPath, 'statistics-json\n');
    expect(reply.endsWith('}\n')).toBe(true);
    expect(reply.indexOf('\n')).toBe(reply.length - 1);
    const json = JSON.parse(reply);
    expect(json).toEqual(toStatsReport(probe.statistics(), 'flowprobe', PID));
    expect(json).toMatchObject({ daemon: 'flowprobe', pid: PID, flowsExpired: 2, flowsExported: 4, exportPackets: 1 });
    expect(json.protocols.map((p: { name: string }) => p.name)).toEqual(['tcp', 'udp']);
  });

  it('hands the reply over before the probe acts on shutdown and exit', async () => {
    // A real probe closes the control server on shutdown, which drops every connection at once: the reply must
    // already be with the kernel by then.
    for (const [cmd, text] of [
      ['shutdown', 'Shutting down gracefully...'],
      ['exit', 'Exiting now...'],
    ] as const) {
      const s = await start();
      let acted = 0;
      probe[cmd] = () => {
        acted++;
        void s.close();
      };
      expect((await ask(sockPath, `${cmd}\n`)).reply).toBe(`flowprobe[${PID}]: ${text}\n`);
      await eventually(() => acted, (a) => a > 0);
      expect(acted).toBe(1);
      await s.close();
      expect(fs.existsSync(sockPath)).toBe(false);
    }
  });

  it("answers an unknown word with softflowd's line, and tolerates CR, blanks and a missing newline", async () => {
    await start();
    expect((await ask(sockPath, 'flush\n')).reply).toBe('Unknown control command "flush"\n');
    expect((await ask(sockPath, '\n')).reply).toBe('Unknown control command ""\n');
    expect((await ask(sockPath, 'timeouts\r\n')).reply).toMatch(/^flowprobe\[4242\]: Printing timeouts:\n/);
    expect((await ask(sockPath, '  debug+ \t\n')).reply).toBe(`flowprobe[${PID}]: Debug level increased.\n`);
    // softflowd reads a last line without its newline too (the client half-closes instead).
    expect((await ask(sockPath, 'send-template', { halfClose: true })).reply).toBe(
      `flowprobe[${PID}]: Template will be sent at next flow export\n`,
    );
    // Bytes after the first line are ignored: one command per connection.
    expect((await ask(sockPath, 'debug-\nshutdown\n')).reply).toBe(`flowprobe[${PID}]: Debug level decreased.\n`);
    expect(probe.calls).not.toContain('shutdown');
  });

  it('turns a failing probe call into an error line and keeps serving', async () => {
    await start();
    probe.failWith = 'exporter is gone';
    expect((await ask(sockPath, 'expire-all\n')).reply).toBe(`flowprobe[${PID}]: expire-all failed: exporter is gone\n`);
    probe.failWith = 'table locked';
    expect((await ask(sockPath, 'statistics\n')).reply).toBe(`flowprobe[${PID}]: statistics failed: table locked\n`);
    expect(logged.some((l) => l.includes('table locked'))).toBe(true);
    expect((await ask(sockPath, 'delete-all\n')).reply).toBe(`flowprobe[${PID}]: Deleted 2 flows.\n`);
  });

  it('streams a dump of a big table whole', async () => {
    await start();
    probe.flows = [];
    for (let i = 0; i < 20_000; i++) {
      probe.addFlow(17, end(v4(10, 1, i >> 8, i & 255), 1024 + i, 100 + i, 1), end(v4(10, 200, 0, 1), 53, 0, 0));
    }
    const { reply } = await ask(sockPath, 'dump-flows\n', { limitMs: 60_000 });
    expect(reply.length).toBeGreaterThan(20_000 * 300);
    expect(reply).toBe(formatFlowDumpHeader('flowprobe', PID) + probe.flows.map((f) => formatFlowEntry(f, probe.now)).join(''));
  }, 60_000);
});

describe('hostile clients', () => {
  it('cuts off binary junk with an error line', async () => {
    await start();
    const junk = Buffer.from([0x73, 0x74, 0x00, 0xff, 0x1b, 0x5b, 0x41, 0x0a]);
    const r = await ask(sockPath, junk);
    expect(r.reply).toBe('Control command rejected: non-printable byte 0x00 at offset 2\n');
    const utf8 = await ask(sockPath, 'statistics\u00e9\n');
    expect(utf8.reply).toBe('Control command rejected: non-printable byte 0xc3 at offset 10\n');
    expect(probe.calls).toEqual([]);
  });

  it('cuts off a line longer than the bound without waiting for its end', async () => {
    await start({ maxLineBytes: 64 });
    const r = await ask(sockPath, 'x'.repeat(300));
    expect(r.reply).toBe('Control command rejected: longer than 64 bytes\n');
    // Exactly at the bound (plus CR) is still a command.
    expect((await ask(sockPath, `${'y'.repeat(64)}\r\n`)).reply).toBe(`Unknown control command "${'y'.repeat(64)}"\n`);
    expect((await ask(sockPath, `${'y'.repeat(65)}\n`)).reply).toBe('Control command rejected: longer than 64 bytes\n');
  });

  it('cuts off an endless line: the connection is closed long before the writer stops', async () => {
    await start();
    const sent = await new Promise<{ bytes: number; closedBy: string }>((resolve) => {
      const sock = net.connect(sockPath);
      const block = Buffer.alloc(64 * 1024, 0x61);
      let bytes = 0;
      const cap = 256 * 1024 * 1024; // the writer's own bound: the test stops by itself
      const pump = (): void => {
        while (bytes < cap) {
          bytes += block.length;
          if (!sock.write(block)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      sock.on('connect', pump);
      sock.on('error', (e: NodeJS.ErrnoException) => resolve({ bytes, closedBy: e.code ?? 'error' }));
      sock.on('close', () => resolve({ bytes, closedBy: 'close' }));
    });
    expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
    expect((await ask(sockPath, 'help\n')).reply).toBe(HELP_TEXT);
    expect(logged.some((l) => l.includes('longer than 256 bytes'))).toBe(true);
  }, 60_000);

  it('serves other clients while one says nothing, then drops the silent one', async () => {
    await start({ commandTimeoutMs: 400 });
    const silent = await silentClient(sockPath);
    let silentClosed = false;
    void silent.closed.then(() => (silentClosed = true));
    const r = await ask(sockPath, 'statistics\n');
    expect(r.reply).toMatch(/^flowprobe\[4242\]: Accumulated statistics/);
    expect(silentClosed).toBe(false);
    expect(server!.clients).toBe(1);
    expect(await silent.closed).toBe('No control command received within 400 ms\n');
    expect(await eventually(() => server!.clients, (c) => c === 0)).toBe(0);
  });

  it('drops a client that trickles its line past the deadline', async () => {
    await start({ commandTimeoutMs: 300 });
    const c = await silentClient(sockPath);
    const trickle = setInterval(() => c.sock.write('s'), 50);
    const got = await c.closed;
    clearInterval(trickle);
    expect(got).toBe('No control command received within 300 ms\n');
  });

  it('refuses clients beyond the limit and recovers when they leave', async () => {
    await start({ maxClients: 3, commandTimeoutMs: 10_000 });
    const held = await Promise.all([silentClient(sockPath), silentClient(sockPath), silentClient(sockPath)]);
    await eventually(() => server!.clients, (c) => c === 3);
    expect((await ask(sockPath, 'help\n')).reply).toBe('Too many control connections (3); try again\n');
    for (const h of held) h.sock.destroy();
    await eventually(() => server!.clients, (c) => c === 0);
    expect((await ask(sockPath, 'help\n')).reply).toBe(HELP_TEXT);
  });

  it('leaks no file descriptor over 1,000 connections in a row', async () => {
    await start();
    // Warm up once so lazily opened descriptors (libuv, the child-process machinery) are already counted.
    await ask(sockPath, 'help\n');
    const before = openFds();
    const kinds = ['statistics\n', '', 'bogus\n', Buffer.from([0, 1, 2, 10]), 'x'.repeat(400), 'help'];
    for (let i = 0; i < 1000; i++) {
      const payload = kinds[i % kinds.length];
      if (payload === '') {
        // Connect and hang up without a byte: softflowd leaks an fd for each of these.
        const s = net.connect(sockPath);
        await new Promise<void>((r) => s.on('connect', () => s.end()).on('close', () => r()).on('error', () => {}));
      } else {
        await ask(sockPath, payload, { halfClose: payload === 'help' });
      }
    }
    const after = await eventually(openFds, (v) => v <= before);
    expect(after).toBeLessThanOrEqual(before);
    expect(await eventually(() => server!.clients, (c) => c === 0)).toBe(0);
  }, 60_000);
});

describe('the socket file', () => {
  it('is created mode 0600 by default, or as configured, and removed on close', async () => {
    const s = await start();
    expect(fs.statSync(sockPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(sockPath).isSocket()).toBe(true);
    await s.close();
    server = null;
    expect(fs.existsSync(sockPath)).toBe(false);
    await start({ mode: 0o660 });
    expect(fs.statSync(sockPath).mode & 0o777).toBe(0o660);
  });

  it('replaces a stale socket left by a crashed daemon', async () => {
    const p = freshPath();
    // A process that binds and dies without cleaning up, as a crash would.
    execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.exit(0))`]);
    expect(fs.statSync(p).isSocket()).toBe(true);
    await start({ path: p });
    expect((await ask(p, 'help\n')).reply).toBe(HELP_TEXT);
  });

  it('does not steal a socket that a live daemon answers on', async () => {
    const first = await start();
    const p = sockPath;
    await expect(startControlServer({ path: p, handler: new FakeProbe() })).rejects.toThrow(
      new ControlSocketError(`another flowprobe is already listening on ${p}; stop it first or give another path`),
    );
    // The first one still owns the path and answers.
    expect((await ask(p, 'delete-all\n')).reply).toBe(`flowprobe[${PID}]: Deleted 2 flows.\n`);
    expect(first.clients).toBe(0);
  });

  it('never removes something that is not a socket, and names bad paths plainly', async () => {
    const file = freshPath();
    fs.writeFileSync(file, 'precious');
    await expect(startControlServer({ path: file, handler: probe })).rejects.toThrow(
      `${file} exists and is not a socket; not replacing it (remove it or give another path)`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    await expect(startControlServer({ path: path.join(tmp, 'no-such-dir', 'x.ctl'), handler: probe })).rejects.toThrow(
      `cannot create control socket ${path.join(tmp, 'no-such-dir', 'x.ctl')}: directory ${path.join(tmp, 'no-such-dir')} does not exist`,
    );
    const long = path.join(tmp, 'l'.repeat(120));
    await expect(startControlServer({ path: long, handler: probe })).rejects.toThrow(/path is \d+ bytes long, Unix sockets allow 107/);
    expect(fs.readdirSync(tmp).some((f) => f.startsWith('lll'))).toBe(false);
  });
});
