/**
 * Debian's softflowctl, unchanged, driving flowprobe's control socket: every command, byte for byte.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { HELP_TEXT, formatStatistics, formatTimeouts } from '../../src/control/format.js';
import { toStatsReport } from '../../src/control/report.js';
import { ipProtocolLabel } from '../../src/decode/protocols.js';
import type { ControlHandler, FlowDump, StatsSnapshot } from '../../src/control/handler.js';
import { openFile } from '../../src/capture/file.js';
import { PacketView } from '../../src/decode/packet.js';
import { FlowTable } from '../../src/flow/table.js';
import type { Timeouts } from '../../src/flow/expiry.js';
import { pumpBatch } from '../../src/probe/pump.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { FakeProbe, end, v4 } from './fake-probe.js';
import { ask, eventually } from './sockets.js';
import { runTool, SOFTFLOWCTL, type CtlResult } from './run-ctl.js';

const PCAPS = path.resolve(__dirname, '../../pcaps');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-softflowctl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** softflowctl's stdout and exit status (it exits 0 whenever the daemon answered). */
function softflowctl(sockPath: string, command: string): Promise<CtlResult> {
  return runTool(SOFTFLOWCTL, ['-c', sockPath, command], 20_000);
}

describe('softflowctl drives flowprobe', () => {
  const PID = 31337;
  let probe: FakeProbe;
  let server: ControlServer;
  let sock: string;

  beforeAll(async () => {
    expect(fs.existsSync(SOFTFLOWCTL), `${SOFTFLOWCTL} is missing: apt-get install softflowd`).toBe(true);
    probe = new FakeProbe();
    probe.addFlow(17, end(v4(10, 0, 0, 1), 5353, 300, 3), end(v4(10, 0, 0, 2), 53, 900, 3));
    probe.addFlow(6, end(v4(10, 0, 0, 1), 40000, 4000, 10), end(v4(192, 0, 2, 80), 443, 64000, 50));
    sock = path.join(tmp, 'fake.ctl');
    server = await startControlServer({ path: sock, handler: probe, pid: PID });
  });
  afterAll(async () => {
    await server.close();
  });

  it('prints the same bytes for every command as a raw client reads off the socket', async () => {
    const line = (t: string): string => `flowprobe[${PID}]: ${t}\n`;
    const expectations: [string, string | RegExp][] = [
      ['help', HELP_TEXT],
      ['statistics', /^flowprobe\[31337\]: Accumulated statistics since 2026-11-24T19:48:15 UTC:\nNumber of active flows: 2\n/],
      ['timeouts', formatTimeouts('flowprobe', PID, probe.timeoutValues)],
      ['dump-flows', /^flowprobe\[31337\]: Dumping flow data:\nACTIVE seq:1 \[10\.0\.0\.1\]:5353 <> \[10\.0\.0\.2\]:53 proto:17 /],
      ['send-template', line('Template will be sent at next flow export')],
      ['debug+', line('Debug level increased.')],
      ['debug-', line('Debug level decreased.')],
      ['stop-gather', line('Data collection stopped.')],
      ['start-gather', line('Data collection resumed.')],
      ['statistics-json', /^\{"daemon":"flowprobe","pid":31337,/],
      ['no-such-command', 'Unknown control command "no-such-command"\n'],
    ];
    for (const [cmd, want] of expectations) {
      const viaRaw = (await ask(sock, `${cmd}\n`)).reply;
      const viaCtl = await softflowctl(sock, cmd);
      expect(viaCtl.code, cmd).toBe(0);
      expect(viaCtl.stdout, cmd).toBe(viaRaw);
      if (typeof want === 'string') expect(viaCtl.stdout, cmd).toBe(want);
      else expect(viaCtl.stdout, cmd).toMatch(want);
    }
    expect(probe.calls).toContain('sendTemplate');
    expect(probe.gathering).toBe(true);
  });

  it('expire-all, delete-all, shutdown and exit, in that order', async () => {
    const line = (t: string): string => `flowprobe[${PID}]: ${t}\n`;
    expect((await softflowctl(sock, 'expire-all')).stdout).toBe(line('Expired 2 flows.'));
    const stats = (await softflowctl(sock, 'statistics')).stdout;
    expect(stats).toBe(formatStatistics(toStatsReport(probe.statistics(), 'flowprobe', PID)));
    expect(stats).toContain('Flows expired: 2 (0 forced)\n');
    probe.addFlow(1, end(v4(10, 0, 0, 1), 0, 84, 1), end(v4(10, 0, 0, 9), 0x0800, 0, 0));
    expect((await softflowctl(sock, 'delete-all')).stdout).toBe(line('Deleted 1 flows.'));
    expect((await softflowctl(sock, 'shutdown')).stdout).toBe(line('Shutting down gracefully...'));
    await eventually(() => probe.calls.includes('shutdown'), Boolean);
    expect((await softflowctl(sock, 'exit')).stdout).toBe(line('Exiting now...'));
    await eventually(() => probe.calls.includes('exit'), Boolean);
    expect(probe.calls.filter((c) => c === 'shutdown' || c === 'exit')).toEqual(['shutdown', 'exit']);
  });
});

/**
 * The control socket over the real flow table, filled from a bundled capture the way the probe fills it
 * (capture → decode → table), with an export sink that counts records.
 */
class TableProbe implements ControlHandler {
  readonly records: FlowRecord[] = [];
  readonly table: FlowTable;
  readonly exported = { flowsExported: 0, recordsExported: 0, packetsExported: 0, exportFailures: 0 };
  readonly since = Date.now() / 1000;
  shutdowns = 0;

  constructor(timeouts: Partial<Timeouts>) {
    this.table = new FlowTable(
      {
        onFlow: () => {
          this.exported.recordsExported++;
          this.exported.flowsExported++;
        },
      },
      { timeouts },
    );
  }

  load(file: string): void {
    const src = openFile(file);
    const v = new PacketView();
    const table = this.table;
    try {
      for (let n = src.next(); n >= 0; n = src.next()) pumpBatch(src, n, v, { onPacket: (p) => void table.update(p) });
    } finally {
      src.close();
    }
  }

  statistics(): StatsSnapshot {
    return { since: this.since, flow: this.table.stats, export: this.exported, capture: null };
  }
  dumpFlows(): FlowDump {
    return { now: this.table.clock, flows: this.table.dumpFlows() };
  }
  timeouts(): Timeouts {
    return this.table.timeouts;
  }
  expireAll(): number {
    const n = this.table.expireAll();
    if (n > 0) this.exported.packetsExported++;
    return n;
  }
  deleteAll(): number {
    return this.table.deleteAll();
  }
  sendTemplate(): void {}
  stopGather(): void {}
  startGather(): void {}
  debug(): void {}
  shutdown(): void {
    this.shutdowns++;
  }
  exit(): void {}
}

describe('softflowctl drives flowprobe over the real flow table', () => {
  it('shows the flows of a bundled capture, expires them and reports the figures', async () => {
    const probe = new TableProbe({ udp: 77, maxlife: 86400 });
    probe.load(path.join(PCAPS, 'ipfixprobe-mixed.pcap'));
    const active = probe.table.size;
    expect(active).toBeGreaterThan(5);
    const sock = path.join(tmp, 'table.ctl');
    const server = await startControlServer({ path: sock, handler: probe, pid: 777 });
    try {
      const stats = (await softflowctl(sock, 'statistics')).stdout;
      expect(stats).toContain(`\nNumber of active flows: ${active}\nPackets processed: ${probe.table.stats.packetsProcessed}\n`);
      expect(stats).not.toContain('libpcap');

      const dump = (await softflowctl(sock, 'dump-flows')).stdout;
      expect(dump.match(/^ACTIVE seq:\d+ /gm)).toHaveLength(active);
      expect(dump.match(/^EXPIRY EVENT for flow \d+ (in \d+ seconds|now)$/gm)).toHaveLength(active);
      const packetsInDump = [...dump.matchAll(/packets>:(\d+) octets<:\d+ packets<:(\d+)/g)].reduce((s, m) => s + +m[1] + +m[2], 0);
      // Every usable packet is in a flow that is either still active (in the dump) or already expired.
      const st = probe.table.stats;
      const expiredPackets = Array.from(st.protoPackets).reduce((s, x) => s + x, 0);
      expect(packetsInDump + expiredPackets).toBe(st.packetsProcessed - st.tooShort);

      const timeouts = (await softflowctl(sock, 'timeouts')).stdout;
      expect(timeouts).toContain('           UDP timeout: 77s\n');
      expect(timeouts).toContain('      Maximum lifetime: 86400s\n');

      expect((await softflowctl(sock, 'expire-all')).stdout).toBe(`flowprobe[777]: Expired ${active} flows.\n`);
      const after = (await softflowctl(sock, 'statistics')).stdout;
      expect(after).toContain(`Number of active flows: 0\n`);
      const expiredBefore = st.flowsExpired - active;
      expect(after).toContain(`Flows expired: ${expiredBefore + active} (0 forced)\n`);
      expect(after).toContain(`   flushed = ${String(active).padStart(9)}\n`);
      // One line per protocol the expired flows carried, named, with the table's own totals.
      let protocols = 0;
      for (let p = 0; p < 256; p++) {
        if (st.protoPackets[p] === 0) continue;
        protocols++;
        const head = `  ${ipProtocolLabel(p).padStart(17)}: ${String(st.protoOctets[p]).padStart(14)} ${String(st.protoPackets[p]).padStart(12)}   `;
        expect(after).toContain(`\n${head}`);
      }
      expect(protocols).toBeGreaterThanOrEqual(3);
      expect(after).toContain('\n     ipv6-icmp (58): ');
      expect(after).not.toContain('Unknown');
      expect(probe.exported.recordsExported).toBeGreaterThanOrEqual(active);
      expect((await softflowctl(sock, 'dump-flows')).stdout).toBe('flowprobe[777]: Dumping flow data:\n');
      expect((await softflowctl(sock, 'shutdown')).stdout).toBe('flowprobe[777]: Shutting down gracefully...\n');
      await eventually(() => probe.shutdowns, (n) => n === 1);
    } finally {
      await server.close();
    }
  });
});
