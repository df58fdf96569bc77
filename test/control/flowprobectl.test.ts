/**
 * flowprobectl, run as the installed command (bin/flowprobectl.js), against flowprobe's control socket and
 * against sockets that misbehave.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { formatFlowDumpHeader, formatFlowEntry, HELP_TEXT } from '../../src/control/format.js';
import { toStatsReport } from '../../src/control/report.js';
import { FakeProbe, end, v4 } from './fake-probe.js';
import { ask } from './sockets.js';
import { flowprobectl } from './run-ctl.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-flowprobectl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('flowprobectl against flowprobe', () => {
  const PID = 2024;
  let probe: FakeProbe;
  let server: ControlServer;
  let sock: string;

  beforeAll(async () => {
    probe = new FakeProbe();
    for (let i = 0; i < 3000; i++) probe.addFlow(17, end(v4(10, 0, i >> 8, i & 255), 1000 + i, 76, 1), end(v4(10, 9, 9, 9), 53, 0, 0));
    sock = path.join(tmp, 'fp.ctl');
    server = await startControlServer({ path: sock, handler: probe, pid: PID });
  });
  afterAll(async () => {
    await server.close();
  });

  it('copies replies to stdout exactly and exits 0', async () => {
    for (const cmd of ['help', 'statistics', 'timeouts', 'send-template', 'debug+', 'debug-']) {
      const r = await flowprobectl(['-c', sock, cmd]);
      expect(r.code, cmd).toBe(0);
      expect(r.stderr, cmd).toBe('');
      expect(r.stdout, cmd).toBe((await ask(sock, `${cmd}\n`)).reply);
    }
    expect((await flowprobectl(['--ctlsock', sock, 'help'])).stdout).toBe(HELP_TEXT);
  });

  it('streams a long dump-flows whole', async () => {
    const r = await flowprobectl(['-c', sock, 'dump-flows']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(formatFlowDumpHeader('flowprobe', PID) + probe.flows.map((f) => formatFlowEntry(f, probe.now)).join(''));
    expect(r.stdout.length).toBeGreaterThan(3000 * 300);
  });

  it('statistics --json prints the daemon\'s own figures', async () => {
    const r = await flowprobectl(['-c', sock, 'statistics', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(toStatsReport(probe.statistics(), 'flowprobe', PID));
    expect(probe.calls.filter((c) => c === 'statistics').length).toBeGreaterThan(0);
  });

  it('exits 2 when the daemon refuses the command, after printing its answer', async () => {
    const r = await flowprobectl(['-c', sock, 'frobnicate']);
    expect(r).toEqual({ stdout: 'Unknown control command "frobnicate"\n', stderr: '', code: 2 });
    probe.failWith = 'export socket closed';
    const f = await flowprobectl(['-c', sock, 'expire-all']);
    expect(f).toEqual({ stdout: `flowprobe[${PID}]: expire-all failed: export socket closed\n`, stderr: '', code: 2 });
  });

  it('refuses bad usage before connecting', async () => {
    const none = await flowprobectl(['-c', sock]);
    expect(none).toMatchObject({ code: 1, stderr: "flowprobectl: missing required argument 'command' (see flowprobectl --help)\n" });
    const bogus = await flowprobectl(['--bogus', 'statistics']);
    expect(bogus).toMatchObject({ code: 1, stderr: "flowprobectl: unknown option '--bogus' (see flowprobectl --help)\n" });
    const extra = await flowprobectl(['-c', sock, 'statistics', 'extra']);
    expect(extra).toMatchObject({ code: 1, stdout: '', stderr: 'flowprobectl: a command is one word: "statistics extra" (see flowprobectl --help)\n' });
    const json = await flowprobectl(['-c', sock, '--json', 'timeouts']);
    expect(json).toMatchObject({ code: 1, stderr: 'flowprobectl: --json goes with statistics only, not "timeouts"\n' });
    const nl = await flowprobectl(['-c', sock, 'statistics\nshutdown']);
    expect(nl.code).toBe(1);
    expect(nl.stderr).toBe('flowprobectl: a command is one line of printable text: "statistics\\nshutdown"\n');
    expect(probe.calls).not.toContain('shutdown');
  });

  it('--help lists every word the daemon\'s help reply names', async () => {
    const help = await flowprobectl(['--help']);
    expect(help.code).toBe(0);
    const words = HELP_TEXT.split('\n').slice(1).join(' ').split(/\s+/).filter(Boolean);
    const listed = help.stdout.slice(help.stdout.indexOf('Commands:')).split('\n').map((l) => l.trim().split(/\s{2,}/)[0]).join(', ').split(', ');
    for (const w of words) expect(listed).toContain(w);
  });
});

describe('flowprobectl when the daemon cannot be reached', () => {
  it('says what connect() said, softflowctl-style, with a hint, and exits 1', async () => {
    const missing = path.join(tmp, 'missing.ctl');
    expect(await flowprobectl(['-c', missing, 'statistics'])).toEqual({
      stdout: '',
      stderr: `flowprobectl: ctl connect("${missing}") error: No such file or directory (is the daemon running with -c ${missing}?)\n`,
      code: 1,
    });
    // A socket nobody listens on any more, as a crashed daemon leaves it.
    const stale = path.join(tmp, 'stale.ctl');
    execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`]);
    expect(await flowprobectl(['-c', stale, 'statistics'])).toEqual({
      stdout: '',
      stderr: `flowprobectl: ctl connect("${stale}") error: Connection refused (nothing is listening on it: the daemon that made it has exited)\n`,
      code: 1,
    });
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, '');
    const notSock = await flowprobectl(['-c', file, 'statistics']);
    expect(notSock.code).toBe(1);
    expect(notSock.stderr).toBe(`flowprobectl: ctl connect("${file}") error: Connection refused (that path is not a socket)\n`);
    const long = path.join(tmp, 'x'.repeat(120));
    const tooLong = await flowprobectl(['-c', long, 'statistics']);
    expect(tooLong).toMatchObject({ code: 1, stderr: `flowprobectl: control socket path is longer than the 107 bytes Unix sockets allow: ${long}\n` });
  });

  it('gives up on a daemon that accepts and never answers', async () => {
    const mute = path.join(tmp, 'mute.ctl');
    const held: net.Socket[] = [];
    const srv = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => srv.listen(mute, r));
    try {
      const r = await flowprobectl(['-c', mute, '-t', '0.5', 'statistics']);
      expect(r).toEqual({ stdout: '', stderr: `flowprobectl: no reply from ${mute} within 0.5 s\n`, code: 1 });
      expect(held.length).toBe(1);
    } finally {
      held.forEach((s) => s.destroy());
      await new Promise((r) => srv.close(r));
    }
  });
});
