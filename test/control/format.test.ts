import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  cFixed,
  formatFlowDumpHeader,
  formatFlowEntry,
  formatStatistics,
  formatTimeouts,
  parseStatistics,
} from '../../src/control/format.js';
import { toStatsReport } from '../../src/control/report.js';
import { ipProtocolLabel } from '../../src/decode/protocols.js';
import type { FlowCounters, StatsSnapshot } from '../../src/control/handler.js';
import { DEFAULT_TIMEOUTS } from '../../src/flow/expiry.js';
import { FlowStats } from '../../src/flow/stats.js';
import { end, makeFlow, v4 } from './fake-probe.js';

/** softflowd's statistics text as the reference (§2.3) quotes it from a live run. */
const REFERENCE_EXAMPLE = `softflowd[13144]: Accumulated statistics since 2026-11-24T19:48:15 UTC:
Number of active flows: 1
Packets processed: 5694
Fragments: 0
Ignored packets: 2 (2 non-IP, 0 too short)
Flows expired: 51 (0 forced)
Flows exported: 51 (51 records) in 2 packets (0 failures)
Packets received by libpcap: 12016
Packets dropped by libpcap: 0
Packets dropped by interface: 0

Expired flow statistics:  minimum       average       maximum
  Flow bytes:                 234          4354          4446
  Flow packets:                 3            56            57
  Duration:                  0.03s         0.03s         0.10s

Expired flow reasons:
       tcp =         0   tcp.rst =         0   tcp.fin =         0
       udp =        51      icmp =         0   general =         0
   maxlife =         0
over 2 GiB =         0
  maxflows =         0
   flushed =         0

Per-protocol statistics:     Octets      Packets   Avg Life    Max Life
           udp (17):         222066         2847       0.03s       0.10s
`;

/** softflowd 1.1.0 on this machine (-i lo, 3000 UDP datagrams to port 9, then expire-all), copied from softflowctl. */
const LIVE_AFTER_EXPIRE = `softflowd[6090]: Accumulated statistics since 2026-11-24T21:03:26 UTC:
Number of active flows: 0
Packets processed: 2890
Fragments: 0
Ignored packets: 0 (0 non-IP, 0 too short)
Flows expired: 2747 (0 forced)
Flows exported: 2747 (2747 records) in 95 packets (0 failures)
Packets received by libpcap: 6000
Packets dropped by libpcap: 0
Packets dropped by interface: 0

Expired flow statistics:  minimum       average       maximum
  Flow bytes:                  30            32            90
  Flow packets:                 1             1             3
  Duration:                  0.00s         0.00s         0.08s

Expired flow reasons:
       tcp =         0   tcp.rst =         0   tcp.fin =         0
       udp =         0      icmp =         0   general =         0
   maxlife =         0
over 2 GiB =         0
  maxflows =         0
   flushed =      2747

Per-protocol statistics:     Octets      Packets   Avg Life    Max Life
           udp (17):          86700         2890       0.00s       0.08s
`;

/** The same daemon before any flow expired: the body stops after a blank line. */
const LIVE_NOTHING_EXPIRED = `softflowd[6090]: Accumulated statistics since 2026-11-24T21:03:26 UTC:
Number of active flows: 0
Packets processed: 0
Fragments: 0
Ignored packets: 0 (0 non-IP, 0 too short)
Flows expired: 0 (0 forced)
Flows exported: 0 (0 records) in 0 packets (0 failures)
Packets received by libpcap: 0
Packets dropped by libpcap: 0
Packets dropped by interface: 0

`;

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** A FlowStats filled with the given figures, the way the flow table leaves it. */
function counters(fill: (s: FlowStats) => void): FlowCounters {
  const s = new FlowStats();
  fill(s);
  return s;
}

describe('statistics text', () => {
  it("reproduces the reference's softflowd example byte for byte from the same figures", () => {
    const flow = counters((s) => {
      s.activeFlows = 1;
      s.packetsProcessed = 5694;
      s.nonIp = 2;
      s.flowsExpired = 51;
      s.reasons[3] = 51; // udp
      Object.assign(s.flowOctets, { min: 234, mean: 4354.19, max: 4446 });
      Object.assign(s.flowPackets, { min: 3, mean: 55.82, max: 57 });
      Object.assign(s.flowDuration, { min: 0.031, mean: 0.0348, max: 0.1012 });
      s.protoOctets[17] = 222066;
      s.protoPackets[17] = 2847;
      s.protoLifeMean[17] = 0.0348;
      s.protoLifeMax[17] = 0.1012;
    });
    const snap: StatsSnapshot = {
      since: utc(2026, 11, 24, 19, 48, 15),
      flow,
      export: { flowsExported: 51, recordsExported: 51, packetsExported: 2, exportFailures: 0 },
      capture: { received: 12016, dropped: 0, ifDropped: 0 },
    };
    expect(formatStatistics(toStatsReport(snap, 'softflowd', 13144))).toBe(REFERENCE_EXAMPLE);
  });

  it('reproduces a live softflowd run, and says flowprobe[pid] for flowprobe', () => {
    const flow = counters((s) => {
      s.packetsProcessed = 2890;
      s.flowsExpired = 2747;
      s.reasons[9] = 2747; // flushed
      Object.assign(s.flowOctets, { min: 30, mean: 31.56, max: 90 });
      Object.assign(s.flowPackets, { min: 1, mean: 1.05, max: 3 });
      Object.assign(s.flowDuration, { min: 0, mean: 0.0021, max: 0.077 });
      s.protoOctets[17] = 86700;
      s.protoPackets[17] = 2890;
      s.protoLifeMean[17] = 0.0021;
      s.protoLifeMax[17] = 0.077;
    });
    const snap: StatsSnapshot = {
      since: utc(2026, 11, 24, 21, 3, 26) + 0.73,
      flow,
      export: { flowsExported: 2747, recordsExported: 2747, packetsExported: 95, exportFailures: 0 },
      capture: { received: 6000, dropped: 0, ifDropped: 0 },
    };
    expect(formatStatistics(toStatsReport(snap, 'softflowd', 6090))).toBe(LIVE_AFTER_EXPIRE);
    const ours = formatStatistics(toStatsReport(snap, 'flowprobe', 4242));
    expect(ours).toBe(LIVE_AFTER_EXPIRE.replace('softflowd[6090]', 'flowprobe[4242]'));
  });

  it('stops after a blank line while nothing has expired, and leaves out what is absent', () => {
    const snap: StatsSnapshot = {
      since: utc(2026, 11, 24, 21, 3, 26),
      flow: new FlowStats(),
      export: { flowsExported: 0, recordsExported: 0, packetsExported: 0, exportFailures: 0 },
      capture: { received: 0, dropped: 0, ifDropped: 0 },
    };
    expect(formatStatistics(toStatsReport(snap, 'softflowd', 6090))).toBe(LIVE_NOTHING_EXPIRED);
    // Reading a file: no libpcap lines. Sampling: the non-sampled line appears only when it counted something.
    const fileRun = formatStatistics(toStatsReport({ ...snap, capture: null }, 'flowprobe', 1));
    expect(fileRun).not.toContain('libpcap');
    expect(fileRun).not.toContain('non-sampled');
    const sampled = new FlowStats();
    sampled.nonSampled = 17;
    sampled.packetsProcessed = 9;
    const text = formatStatistics(toStatsReport({ ...snap, flow: sampled }, 'flowprobe', 1));
    expect(text).toContain('Packets processed: 9\nPackets non-sampled: 17\nFragments: 0\n');
  });

  it('names every protocol, never "Unknown", in number order', () => {
    const flow = counters((s) => {
      s.flowsExpired = 4;
      for (const p of [255, 6, 150, 58, 0]) {
        s.protoPackets[p] = 1;
        s.protoOctets[p] = 40;
      }
    });
    const snap: StatsSnapshot = {
      since: 0,
      flow,
      export: { flowsExported: 0, recordsExported: 0, packetsExported: 0, exportFailures: 0 },
    };
    const lines = formatStatistics(toStatsReport(snap, 'flowprobe', 1)).split('\n');
    const protoLines = lines.slice(lines.indexOf('Per-protocol statistics:     Octets      Packets   Avg Life    Max Life') + 1, -1);
    expect(protoLines.map((l) => l.slice(0, 20))).toEqual([
      '             ip (0):',
      '            tcp (6):',
      '     ipv6-icmp (58):',
      '   unassigned (150):',
      '     reserved (255):',
    ]);
    for (let p = 0; p < 256; p++) expect(ipProtocolLabel(p)).toMatch(new RegExp(`^[a-z0-9][a-z0-9.+/-]* \\(${p}\\)$`));
  });

  it('reads statistics text back into the same figures (what --json does with softflowd)', () => {
    for (const text of [REFERENCE_EXAMPLE, LIVE_AFTER_EXPIRE, LIVE_NOTHING_EXPIRED]) {
      expect(formatStatistics(parseStatistics(text))).toBe(text);
    }
    const r = parseStatistics(REFERENCE_EXAMPLE);
    expect(r).toMatchObject({
      daemon: 'softflowd',
      pid: 13144,
      since: '2026-11-24T19:48:15Z',
      activeFlows: 1,
      packetsProcessed: 5694,
      ignoredPackets: 2,
      ignoredNonIp: 2,
      flowsExpired: 51,
      exportPackets: 2,
      libpcap: { received: 12016, dropped: 0, ifDropped: 0 },
      expiredFlows: { bytes: { min: 234, avg: 4354, max: 4446 }, durationSec: { min: 0.03, avg: 0.03, max: 0.1 } },
      protocols: [{ protocol: 17, name: 'udp', octets: 222066, packets: 2847, avgLifeSec: 0.03, maxLifeSec: 0.1 }],
    });
    expect(r.expiryReasons).toEqual({ tcp: 0, tcpRst: 0, tcpFin: 0, udp: 51, icmp: 0, general: 0, maxlife: 0, over2GiB: 0, maxflows: 0, flushed: 0 });
    expect(() => parseStatistics('Unknown control command "statistics"\n')).toThrow(/not a statistics reply/);
  });
});

describe('printf rounding', () => {
  it('matches C printf %.0f and %.2f, ties to even included', () => {
    const values = [0, 0.125, 0.375, 0.625, 0.875, 1.125, 2.5, 3.5, 0.5, 1.5, 4354.5, 0.005, 0.015, 0.025, 1e6 + 0.5];
    values.push(12.345, 99.995, 0.0348, 31.56, 2 ** 40 + 0.5, 1 / 3, 2 / 3, 7.0625);
    // coreutils printf reads long double, which holds each double exactly when given its full decimal expansion.
    const args = values.flatMap((v) => [v.toFixed(60), v.toFixed(60)]);
    const expected = execFileSync('/usr/bin/printf', ['%.0f|%.2f\\n', ...args], { encoding: 'utf8' }).trimEnd().split('\n');
    expect(values.map((v) => `${cFixed(v, 0)}|${cFixed(v, 2)}`)).toEqual(expected);
    expect(cFixed(0.125, 2)).toBe('0.12');
    expect(cFixed(2.5, 0)).toBe('2');
  });
});

describe('dump-flows text', () => {
  it("reproduces softflowd's line for a live UDP flow", () => {
    const start = utc(2026, 11, 24, 19, 48, 25);
    const flow = makeFlow(3, 17, end(v4(127, 0, 0, 1), 58072, 4446, 57), end(v4(127, 0, 0, 1), 33335, 0, 0), {
      startSec: start,
      startNsec: 370_123_000,
      endSec: start,
      endNsec: 401_499_000,
      expiresAt: start + 300,
    });
    expect(formatFlowDumpHeader('softflowd', 13144) + formatFlowEntry(flow, start + 296)).toBe(
      'softflowd[13144]: Dumping flow data:\n' +
        'ACTIVE seq:3 [127.0.0.1]:58072 <> [127.0.0.1]:33335 proto:17 octets>:4446 packets>:57 octets<:0 packets<:0 ' +
        'start:2026-11-24T19:48:25.370 finish:2026-11-24T19:48:25.401 tcp>:00 tcp<:00 flowlabel>:00000000 ' +
        'flowlabel<:00000000 vlan>:0 vlan<:0 ether:00:00:00:00:00:00 <> 00:00:00:00:00:00\n' +
        'EXPIRY EVENT for flow 3 in 4 seconds\n\n',
    );
  });

  it('shows IPv6, flags, labels, VLANs and MACs, and flows that are due now or forced', () => {
    const t = utc(2026, 1, 2, 3, 4, 5);
    const addr6 = (last: number): Uint32Array => Uint32Array.of(0x20010db8, 0, 0, last);
    const flow = makeFlow(
      12,
      6,
      end(addr6(1), 443, 1500, 3, { tcpFlags: 0x1b, flowLabel: 0xabcde, macHi: 0x0002, macLo: 0xb3c4d5e6 }),
      end(addr6(2), 51000, 120, 2, { tcpFlags: 0x12, macHi: 0xffff, macLo: 0xffffffff }),
      // The start rounds up into the next second: softflowd would print ".1000".
      { startSec: t, startNsec: 999_600_000, endSec: t + 1, endNsec: 0, expiresAt: t - 5 },
      { ipVersion: 6, vlan: 100 },
    );
    const text = formatFlowEntry(flow, t);
    expect(text).toBe(
      'ACTIVE seq:12 [2001:db8::1]:443 <> [2001:db8::2]:51000 proto:6 octets>:1500 packets>:3 octets<:120 packets<:2 ' +
        'start:2026-01-02T03:04:06.000 finish:2026-01-02T03:04:06.000 tcp>:1b tcp<:12 flowlabel>:000abcde ' +
        'flowlabel<:00000000 vlan>:100 vlan<:100 ether:00:02:b3:c4:d5:e6 <> ff:ff:ff:ff:ff:ff\n' +
        'EXPIRY EVENT for flow 12 now\n\n',
    );
    expect(formatFlowEntry({ ...flow, expiresAt: 0 }, t)).toContain('EXPIRY EVENT for flow 12 now (FORCED)\n');
  });
});

describe('timeouts text', () => {
  it("matches softflowd's default timeouts reply", () => {
    expect(formatTimeouts('softflowd', 6090, DEFAULT_TIMEOUTS)).toBe(
      'softflowd[6090]: Printing timeouts:\n' +
        '           TCP timeout: 3600s\n' +
        '  TCP post-RST timeout: 120s\n' +
        '  TCP post-FIN timeout: 300s\n' +
        '           UDP timeout: 300s\n' +
        '          ICMP timeout: 300s\n' +
        '       General timeout: 3600s\n' +
        '      Maximum lifetime: 604800s\n' +
        '       Expiry interval: 60s\n',
    );
  });
});
