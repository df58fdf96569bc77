/**
 * Debian's softflowctl (and flowprobectl) driving the real flowprobe process capturing live on `lo`: every
 * control command, judged by what the probe then reports, what a real nfcapd receives and what the probe logs.
 * Each probe captures only a UDP port the test picked (a BPF filter), so other tests' loopback traffic never
 * reaches it; the test's datagrams, each from its own source port, are the only flows.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELP_TEXT, formatStatistics } from '../../src/control/format.js';
import type { StatsReport } from '../../src/control/report.js';
import { freeUdpPort, startNfcapd, type Nfcapd, type NfFlow } from '../helpers/nfcapd.js';
import { control, killProbes, startProbe, statistics, until, waitProcessed, waitReady, type ProbeProcess } from '../helpers/probe-process.js';
import { flowprobectl, runTool, SOFTFLOWCTL, type CtlResult } from '../control/run-ctl.js';
import { collect } from '../wire/collect.js';
import { IP_BYTES, PAYLOAD, closeSinks, sendFlow, sinkPort } from '../helpers/udp-traffic.js';
import { createVethNamespace, type VethNamespace } from '../helpers/netns.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-livectl-'));
afterAll(async () => {
  await killProbes();
  closeSinks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function softflowctl(sock: string, cmd: string): Promise<CtlResult> {
  return runTool(SOFTFLOWCTL, ['-c', sock, cmd]);
}

function flowFrom(flows: NfFlow[], srcPort: number): NfFlow[] {
  return flows.filter((f) => f.srcPort === srcPort);
}

// Each step polls with its own deadline (15 s); the test's must be longer, so a failure names what it waited for.
describe('softflowctl drives a live flowprobe process, every command', { timeout: 30_000 }, () => {
  let nf: Nfcapd;
  let probe: ProbeProcess;
  let port = 0;
  const sock = path.join(tmp, 'probe.ctl');
  const pidFile = path.join(tmp, 'probe.pid');
  const line = (text: string): string => `flowprobe[${probe.pid}]: ${text}\n`;
  /** Source ports of the flows each step made, to find them at the collector. */
  const src: Record<string, number> = {};
  let packets = 0;

  beforeAll(async () => {
    nf = await startNfcapd();
    port = await sinkPort();
    probe = startProbe([
      '-i', 'lo', '-d', '-n', `127.0.0.1:${nf.port}`, '-v', '9', '-c', sock, '-p', pidFile,
      '-t', 'udp=7m', '-t', 'maxlife=2d', 'udp', 'port', String(port),
    ]);
    await waitReady(probe, sock);
  }, 60_000);
  afterAll(async () => {
    await nf.cleanup();
  });

  it('statistics: the flow counters, and the three libpcap lines of a live capture', async () => {
    src.expired = await sendFlow(port, 5);
    packets += 5;
    const s = await waitProcessed(sock, packets);
    const text = (await softflowctl(sock, 'statistics')).stdout;
    expect(text).toMatch(new RegExp(`^flowprobe\\[${probe.pid}\\]: Accumulated statistics since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d UTC:\n`));
    expect(text).toContain('\nNumber of active flows: 1\nPackets processed: 5\nFragments: 0\nIgnored packets: 0 (0 non-IP, 0 too short)\n');
    expect(text).toContain('\nFlows expired: 0 (0 forced)\n');
    expect(text).toMatch(/\nPackets received by libpcap: \d+\nPackets dropped by libpcap: 0\nPackets dropped by interface: 0\n/);
    expect(s.libpcap!.received).toBeGreaterThanOrEqual(5);
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${probe.pid}\n`);
  });

  it('dump-flows: the active flow with its counters', async () => {
    const r = await softflowctl(sock, 'dump-flows');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(line('Dumping flow data:'))).toBe(true);
    const active = [...r.stdout.matchAll(/^ACTIVE seq:\d+ \[127\.0\.0\.1\]:(\d+) <> \[127\.0\.0\.1\]:(\d+) proto:17 octets>:(\d+) packets>:(\d+) octets<:(\d+) packets<:(\d+) /gm)];
    expect(active).toHaveLength(1);
    const [, p0, p1, o0, n0, o1, n1] = active[0].map(Number);
    // ">" counts what the end named first sent: here the sender, whichever end it is.
    expect([p0, p1].sort()).toEqual([src.expired, port].sort());
    const bySender = p0 === src.expired ? [o0, n0, o1, n1] : [o1, n1, o0, n0];
    expect(bySender).toEqual([5 * IP_BYTES, 5, 0, 0]);
    expect(r.stdout).toMatch(/\nEXPIRY EVENT for flow \d+ in 4\d\d seconds\n/);
  });

  it('timeouts: the -t values and the defaults', async () => {
    const r = await softflowctl(sock, 'timeouts');
    expect(r.stdout).toBe(
      line('Printing timeouts:') +
        '           TCP timeout: 3600s\n  TCP post-RST timeout: 120s\n  TCP post-FIN timeout: 300s\n' +
        '           UDP timeout: 420s\n          ICMP timeout: 300s\n       General timeout: 3600s\n' +
        '      Maximum lifetime: 172800s\n       Expiry interval: 60s\n',
    );
  });

  it('expire-all: the flow leaves the table as "flushed" and is exported', async () => {
    const sentBefore = (await statistics(sock)).exportPackets;
    expect((await softflowctl(sock, 'expire-all')).stdout).toBe(line('Expired 1 flows.'));
    const s = await statistics(sock);
    expect(s.activeFlows).toBe(0);
    expect(s.flowsExpired).toBe(1);
    expect(s.expiryReasons.flushed).toBe(1);
    expect(s.recordsExported).toBe(1);
    expect(s.exportPackets).toBeGreaterThan(sentBefore);
    expect(s.protocols.map((p) => [p.name, p.octets, p.packets])).toEqual([['udp', 5 * IP_BYTES, 5]]);
    // Where it arrived is checked at the end, when nfcapd has written its file.
  });

  it('flowprobectl statistics --json gives the figures of the text', async () => {
    const text = (await softflowctl(sock, 'statistics')).stdout;
    const json = await flowprobectl(['-c', sock, 'statistics', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as StatsReport;
    expect(report.pid).toBe(probe.pid);
    expect(report.expiredFlows).not.toBeNull();
    // Printed with softflowd's layout, the JSON figures are the text, byte for byte.
    expect(formatStatistics(report)).toBe(text);
  });

  it('delete-all: the flow is dropped, neither expired nor exported', async () => {
    src.deleted = await sendFlow(port, 3);
    packets += 3;
    await waitProcessed(sock, packets);
    expect((await softflowctl(sock, 'delete-all')).stdout).toBe(line('Deleted 1 flows.'));
    const s = await statistics(sock);
    expect([s.activeFlows, s.flowsExpired, s.recordsExported]).toEqual([0, 1, 1]);
  });

  it('send-template answers (the templates on the wire are checked below, with a plain UDP collector)', async () => {
    expect((await softflowctl(sock, 'send-template')).stdout).toBe(line('Template will be sent at next flow export'));
  });

  it('stop-gather: packets wait in the kernel, unprocessed, until start-gather', async () => {
    expect((await softflowctl(sock, 'stop-gather')).stdout).toBe(line('Data collection stopped.'));
    const before = await statistics(sock);
    src.gathered = await sendFlow(port, 4);
    // libpcap's kernel counter shows the packets have reached the capture buffer; the probe has not read them.
    const held = await until('the kernel to count 4 more packets', () => statistics(sock), (s) => s.libpcap!.received >= before.libpcap!.received + 4);
    expect(held.packetsProcessed).toBe(before.packetsProcessed);
    expect(held.activeFlows).toBe(0);
    expect((await softflowctl(sock, 'start-gather')).stdout).toBe(line('Data collection resumed.'));
    packets += 4;
    const after = await waitProcessed(sock, packets);
    expect(after.activeFlows).toBe(1);
    expect(after.libpcap!.dropped).toBe(0);
  });

  it('debug+ logs flows as they are added and expired; debug- stops it', async () => {
    expect((await softflowctl(sock, 'debug+')).stdout).toBe(line('Debug level increased.'));
    src.debug = await sendFlow(port, 1);
    await until('an ADD FLOW line', () => probe.stderr(), (e) => e.includes(`ADD FLOW [127.0.0.1]:${src.debug} <> [127.0.0.1]:${port} proto:17`));
    expect((await softflowctl(sock, 'expire-all')).stdout).toBe(line('Expired 2 flows.'));
    await until(
      'EXPIRED lines',
      () => probe.stderr(),
      (e) =>
        e.includes(`EXPIRED: [127.0.0.1]:${src.debug} > [127.0.0.1]:${port} proto:17 octets:${IP_BYTES} packets:1 `) &&
        e.includes(`EXPIRED: [127.0.0.1]:${src.gathered} > [127.0.0.1]:${port} proto:17 octets:${4 * IP_BYTES} packets:4 `),
    );
    expect((await softflowctl(sock, 'debug-')).stdout).toBe(line('Debug level decreased.'));
    src.quiet = await sendFlow(port, 1);
    packets += 2;
    await waitProcessed(sock, packets);
    // A marker flow with debug on again: its line comes after any the quiet flow would have made.
    await softflowctl(sock, 'debug+');
    src.marker = await sendFlow(port, 1);
    packets += 1;
    await until('the marker ADD FLOW line', () => probe.stderr(), (e) => e.includes(`ADD FLOW [127.0.0.1]:${src.marker} `));
    expect(probe.stderr()).not.toContain(`[127.0.0.1]:${src.quiet} `);
    await softflowctl(sock, 'debug-');
  });

  it('help lists the control words; an unknown word gets an error line and the probe carries on', async () => {
    expect((await softflowctl(sock, 'help')).stdout).toBe(HELP_TEXT);
    const bad = await softflowctl(sock, 'frobnicate');
    expect(bad).toEqual({ code: 0, stdout: 'Unknown control command "frobnicate"\n', stderr: '' });
    const viaOurs = await flowprobectl(['-c', sock, 'frobnicate']);
    expect(viaOurs.stdout).toBe('Unknown control command "frobnicate"\n');
    expect(viaOurs.code).toBe(2);
    expect((await statistics(sock)).pid).toBe(probe.pid);
  });

  it('shutdown: every flow exported, socket and pidfile removed, exit 0', async () => {
    src.last = await sendFlow(port, 2);
    packets += 2;
    const s = await waitProcessed(sock, packets);
    expect(s.activeFlows).toBe(3);
    expect((await softflowctl(sock, 'shutdown')).stdout).toBe(line('Shutting down gracefully...'));
    expect(await probe.waitExit()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(sock)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);

    const flows = await nf.flows();
    const got = (from: number): [number, number][] => flowFrom(flows, from).map((f) => [f.packets, f.bytes]);
    expect(got(src.expired)).toEqual([[5, 5 * IP_BYTES]]);
    expect(got(src.gathered)).toEqual([[4, 4 * IP_BYTES]]);
    expect(got(src.debug)).toEqual([[1, IP_BYTES]]);
    expect(got(src.quiet)).toEqual([[1, IP_BYTES]]);
    expect(got(src.marker)).toEqual([[1, IP_BYTES]]);
    expect(got(src.last)).toEqual([[2, 2 * IP_BYTES]]);
    expect(got(src.deleted)).toEqual([]);
    expect(flows).toHaveLength(6);
    expect(flows.every((f) => f.proto === 17 && f.dstPort === port && f.srcAddr === '127.0.0.1')).toBe(true);
    expect(nf.log()).toMatch(/Flows: 6, .*Sequence Errors: 0, Bad Packets: 0/);
  });
});

describe('exit leaves at once without exporting', () => {
  it('the active flow never reaches the collector; socket and pidfile are removed; exit 0', async () => {
    const nf = await startNfcapd();
    try {
      const port = await sinkPort();
      const sock = path.join(tmp, 'exit.ctl');
      const pidFile = path.join(tmp, 'exit.pid');
      const probe = startProbe(['-i', 'lo', '-d', '-n', `127.0.0.1:${nf.port}`, '-v', '9', '-c', sock, '-p', pidFile, 'udp', 'port', String(port)]);
      await waitReady(probe, sock);
      await sendFlow(port, 3);
      expect((await waitProcessed(sock, 3)).activeFlows).toBe(1);
      expect((await softflowctl(sock, 'exit')).stdout).toBe(`flowprobe[${probe.pid}]: Exiting now...\n`);
      expect(await probe.waitExit()).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(sock)).toBe(false);
      expect(fs.existsSync(pidFile)).toBe(false);
      expect(await nf.flows()).toEqual([]);
    } finally {
      await nf.cleanup();
    }
  }, 60_000);
});

describe('send-template and -D, seen on the wire and in the log', () => {
  it('the export after send-template carries the templates, the one before it does not; -D logs adds and expiries', async () => {
    const datagrams: Buffer[] = [];
    const collector = await sinkPort((m) => datagrams.push(m));
    const port = await sinkPort();
    const sock = path.join(tmp, 'template.ctl');
    // Idle UDP flows expire after a second and the timer scans every second, so exports happen without expire-all
    // (which resends templates by itself).
    const probe = startProbe(['-i', 'lo', '-D', '-n', `127.0.0.1:${collector}`, '-v', '9', '-c', sock, '-t', 'udp=1', '-t', 'expint=1', 'udp', 'port', String(port)]);
    await waitReady(probe, sock);
    /** Each datagram with the templates it carries and the source ports of its flows (decoded in order, as a collector would). */
    const exports = (): { templates: number; ports: number[] }[] =>
      datagrams.map((d, i) => {
        const before = collect(9, datagrams.slice(0, i)).flows.length;
        return {
          templates: collect(9, [d]).templates.length,
          ports: collect(9, datagrams.slice(0, i + 1)).flows.slice(before).map((f) => f.srcPort),
        };
      });
    const withFlows = (): { templates: number; ports: number[] }[] => exports().filter((e) => e.ports.length > 0);
    await until('the start-up templates', () => datagrams.length, (n) => n >= 1);
    expect(exports()[0]).toEqual({ templates: expect.any(Number), ports: [] });
    expect(exports()[0].templates).toBeGreaterThan(0);

    const plain = await sendFlow(port, 1);
    await until('the first timed export', () => withFlows().length, (n) => n === 1);
    expect(withFlows()[0]).toEqual({ templates: 0, ports: [plain] });

    expect((await softflowctl(sock, 'send-template')).stdout).toBe(`flowprobe[${probe.pid}]: Template will be sent at next flow export\n`);
    const next = await sendFlow(port, 1);
    await until('the second timed export', () => withFlows().length, (n) => n === 2);
    expect(withFlows()[1].ports).toEqual([next]);
    expect(withFlows()[1].templates).toBeGreaterThan(0);
    expect(collect(9, datagrams).errors).toEqual([]);

    // -D: foreground with a line per flow added and per flow expired (no pidfile in the foreground without -p).
    const log = probe.stderr();
    for (const p of [plain, next]) {
      expect(log).toContain(`ADD FLOW [127.0.0.1]:${p} <> [127.0.0.1]:${port} proto:17`);
      expect(log).toMatch(new RegExp(`EXPIRED: \\[127\\.0\\.0\\.1\\]:${p} > \\[127\\.0\\.0\\.1\\]:${port} proto:17 octets:${IP_BYTES} packets:1 .*reason:`));
    }
    process.kill(probe.pid, 'SIGTERM');
    expect((await probe.waitExit()).code).toBe(0);
  }, 60_000);
});

describe('a collector that is down', () => {
  it('costs counted failures, never the capture, and export resumes when the collector comes back', async () => {
    const collectorPort = await freeUdpPort();
    const port = await sinkPort();
    const sock = path.join(tmp, 'down.ctl');
    const probe = startProbe(['-i', 'lo', '-d', '-n', `127.0.0.1:${collectorPort}`, '-v', '9', '-c', sock, 'udp', 'port', String(port)]);
    await waitReady(probe, sock);

    // Each export to the closed port draws an ICMP port unreachable, which the next send reports: a few rounds.
    let packets = 0;
    let s: StatsReport | null = null;
    for (let round = 0; round < 20; round++) {
      await sendFlow(port, 2);
      packets += 2;
      await waitProcessed(sock, packets);
      expect((await control(sock, 'expire-all'))).toBe(`flowprobe[${probe.pid}]: Expired 1 flows.\n`);
      s = await statistics(sock);
      if (s.exportFailures > 0) break;
    }
    expect(s!.exportFailures).toBeGreaterThan(0);
    expect(probe.stderr()).toContain(`export to 127.0.0.1:${collectorPort} failed: ECONNREFUSED`);

    // Still capturing.
    await sendFlow(port, 7);
    packets += 7;
    expect((await waitProcessed(sock, packets)).activeFlows).toBe(1);

    const nf = await startNfcapd({ port: collectorPort });
    try {
      // The first export after the restart may still meet the ICMP error of the last one sent into the void.
      await control(sock, 'expire-all');
      const failures = (await statistics(sock)).exportFailures;
      const after = await sendFlow(port, 3);
      packets += 3;
      await waitProcessed(sock, packets);
      expect(await control(sock, 'expire-all')).toBe(`flowprobe[${probe.pid}]: Expired 1 flows.\n`);
      expect((await statistics(sock)).exportFailures).toBe(failures);
      const flows = await nf.flows();
      expect(flowFrom(flows, after).map((f) => [f.packets, f.bytes])).toEqual([[3, 3 * IP_BYTES]]);
      expect(nf.log()).toMatch(/Bad Packets: 0/);
    } finally {
      await nf.cleanup();
    }
    expect(probe.running()).toBe(true);
    await control(sock, 'shutdown');
    expect((await probe.waitExit()).code).toBe(0);
  }, 60_000);
});

describe('a collector with no route to it', () => {
  let veth: VethNamespace | null = null;
  afterAll(async () => {
    await killProbes();
    await veth?.remove();
  });

  it('costs counted failures (ENETUNREACH), never the capture, and export resumes when the route returns', async () => {
    // The probe lives in a namespace of its own, capturing on its lo; the collector sits on this side of a veth
    // pair, on a /30 from the benchmarking range (RFC 2544) that only the pair carries.
    const v = (veth = await createVethNamespace(`${process.pid % 100000}r`));
    const net = `198.18.${process.pid % 250}`;
    const inNs = (...args: string[]): Promise<unknown> => v.exec('ip', args, 10_000);
    await inNs('link', 'set', 'lo', 'up');
    await inNs('addr', 'add', `${net}.1/30`, 'dev', v.nsIf);
    execFileSync('ip', ['addr', 'add', `${net}.2/30`, 'dev', v.hostIf]);
    const route = [`${net}.0/30`, 'dev', v.nsIf];

    /** `count` datagrams sent inside the namespace, over its lo, to `port`, from a fresh source port (returned). */
    const sendInside = async (port: number, count: number): Promise<number> => {
      const code =
        `const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',async()=>{` +
        `for(let i=0;i<${count};i++)await new Promise((r,j)=>s.send(Buffer.alloc(${PAYLOAD}),${port},'127.0.0.1',(e)=>e?j(e):r()));` +
        `console.log(s.address().port);s.close();});`;
      const { stdout } = await v.exec(process.execPath, ['-e', code], 30_000);
      return Number(stdout.trim());
    };

    const nf = await startNfcapd({ bind: `${net}.2` });
    try {
      const port = 5000;
      const sock = path.join(tmp, 'noroute.ctl');
      const probe = startProbe(['-i', 'lo', '-d', '-n', `${net}.2:${nf.port}`, '-v', '9', '-c', sock, 'udp', 'port', String(port)], { netns: v.ns });
      await waitReady(probe, sock);
      const line = (text: string): string => `flowprobe[${probe.pid}]: ${text}\n`;

      const before = await sendInside(port, 2);
      await waitProcessed(sock, 2);
      expect(await control(sock, 'expire-all')).toBe(line('Expired 1 flows.'));
      expect((await statistics(sock)).exportFailures).toBe(0);

      await inNs('route', 'del', ...route);
      const lost = await sendInside(port, 3);
      await waitProcessed(sock, 5);
      expect(await control(sock, 'expire-all')).toBe(line('Expired 1 flows.'));
      const down = await statistics(sock);
      expect(down.exportFailures).toBeGreaterThan(0);
      expect(probe.stderr()).toContain(`export to ${net}.2:${nf.port} failed: ENETUNREACH`);
      // Still capturing, still answering.
      const held = await sendInside(port, 4);
      expect((await waitProcessed(sock, 9)).activeFlows).toBe(1);

      await inNs('route', 'add', ...route);
      const after = await sendInside(port, 5);
      await waitProcessed(sock, 14);
      expect(await control(sock, 'expire-all')).toBe(line('Expired 2 flows.'));
      expect((await statistics(sock)).exportFailures).toBe(down.exportFailures);
      expect(await control(sock, 'shutdown')).toBe(line('Shutting down gracefully...'));
      expect((await probe.waitExit()).code).toBe(0);

      const got = (await nf.flows()).map((f) => [f.srcPort, f.packets, f.bytes]).sort((a, b) => a[1] - b[1]);
      expect(got).toEqual([
        [before, 2, 2 * IP_BYTES],
        [held, 4, 4 * IP_BYTES],
        [after, 5, 5 * IP_BYTES],
      ]);
      expect(got.map((g) => g[0])).not.toContain(lost);
    } finally {
      await nf.cleanup();
    }
  }, 60_000);
});
