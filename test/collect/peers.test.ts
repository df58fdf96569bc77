/**
 * Real exporters feed flowcapd and a real nfcapd at once (a UDP tee hands each datagram to both), and the two
 * stores are read back by their own readers: `flowdump -o csv` against `nfdump -o csv`. The exporters are softflowd
 * (v5, v9, IPFIX with relative and with absolute times), nfdump's nfreplay (v5 and v9 replays of an nfcapd file)
 * and pmacct's pmacctd with its nfprobe plugin (v5, v9, IPFIX).
 *
 * Compared: every csv column nfdump fills from the export (times, duration, addresses, ports, protocol, flags, ToS,
 * packets, bytes, interfaces, AS, masks, direction, next hop, VLANs, MACs, MPLS), as a multiset of lines. Where they
 * differ on purpose, the test says how and why:
 * - softflowd -r times relative to its own start: with a capture older than the run, the v9/IPFIX uptime values
 *   underflow 2^32 ms (shared/reference/collectors.md §5.3). nfcapd puts those flows 49.7 days in the future;
 *   flowcapd reads a 32-bit uptime as at most 2^32 ms before the export (RFC 3954 §8 sysUpTime arithmetic), so its
 *   times are nfcapd's minus exactly 2^32 ms. Neither is the packet time (softflowd lost it); v5 and IPFIX -A milli
 *   carry it, and there both agree to the millisecond.
 * - nfcapd 1.7.1 maps IPFIX flowStart/EndSysUpTime the wrong way round (fixed in nfdump 1.7.2), so for softflowd's
 *   default IPFIX its first and last are swapped (and its duration is garbage).
 * - nfcapd 1.7.1's v9 decoder takes ICMP type.code only from ICMP_TYPE (IE 32): softflowd's ICMPv6 flows (IE 139)
 *   and pmacctd's ICMP flows (type·256+code in L4_DST_PORT, IE 11, which is what tshark decodes there) show port 0
 *   in nfdump, where flowcapd keeps type.code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startNfcapd } from '../helpers/nfcapd.js';
import { LONG_TIMEOUTS } from '../probe/oracle-run.js';
import { FLOWDUMP, startFlowcapd, startTee } from './run-flowcapd.js';

const execFileP = promisify(execFile);
const PCAPS = fileURLToPath(new URL('../../pcaps', import.meta.url));
const ENV = { ...process.env, TZ: 'UTC' };
const WRAP_MS = 2 ** 32;

/** The csv columns nfdump fills from an export: ts .. al (it adds exporter, engine, sysid and receive time after). */
const COLUMNS = 44;
const TS = 0;
const TE = 1;
const TD = 2;
const DP = 6;
const PR = 7;

interface Both {
  nfdump: string[][];
  flowdump: string[][];
  /** flowcapd's stderr: its per-exporter counters. */
  log: string;
  datagrams: number;
}

/** Runs `exporter(port)` into a tee to a fresh nfcapd and a fresh flowcapd, stops both, and reads both back as csv. */
async function feedBoth(exporter: (port: number) => Promise<void>): Promise<Both> {
  const nf = await startNfcapd({ bufferBytes: 33554432 });
  const fc = await startFlowcapd();
  const tee = await startTee([nf.port, fc.port]);
  try {
    await exporter(tee.port);
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([nf.drained(), fc.drained()]);
    await nf.stop();
    expect(await fc.stop()).toBe(0);
    const [a, b] = await Promise.all([
      execFileP('nfdump', ['-R', nf.dir, '-o', 'csv', '-q', '-6'], { env: ENV, maxBuffer: 1 << 26 }),
      execFileP(process.execPath, [FLOWDUMP, '-R', fc.dir, '-o', 'csv', '-q'], { env: ENV, maxBuffer: 1 << 26 }),
    ]);
    const rows = (s: string): string[][] => s.split('\n').filter((l) => l !== '').map((l) => l.split(',').slice(0, COLUMNS));
    return { nfdump: rows(a.stdout), flowdump: rows(b.stdout), log: fc.stderr(), datagrams: tee.count() };
  } finally {
    await tee.close();
    await Promise.all([nf.cleanup(), fc.cleanup()]);
  }
}

const lines = (rows: string[][]): string[] => rows.map((r) => r.join(',')).sort();

/** Seconds-resolution csv time ("2026-11-24 19:50:30", UTC) → ms. */
function csvTime(s: string): number {
  return Date.parse(s.replace(' ', 'T') + 'Z');
}

function softflowd(pcap: string, version: string, extra: string[] = []) {
  return async (port: number): Promise<void> => {
    await execFileP('softflowd', ['-r', join(PCAPS, pcap), '-n', `127.0.0.1:${port}`, '-v', version, '-c', 'none', '-d', ...LONG_TIMEOUTS, ...extra], {
      timeout: 60_000,
    });
  };
}

/** Every row equal in every compared column. */
function expectSame(b: Both, min: number): void {
  expect(b.flowdump.length).toBeGreaterThanOrEqual(min);
  expect(lines(b.flowdump)).toEqual(lines(b.nfdump));
}

/** Equal apart from the time columns; returns the rows paired by everything else. */
function pairWithoutTimes(b: Both, min: number, fix: (ours: string[]) => string[] = (r) => r): Array<[string[], string[]]> {
  expect(b.flowdump.length).toBeGreaterThanOrEqual(min);
  const key = (r: string[]): string => r.filter((_, i) => i !== TS && i !== TE && i !== TD).join(',');
  const ours = b.flowdump.map(fix);
  expect(ours.map(key).sort()).toEqual(b.nfdump.map(key).sort());
  const theirs = new Map<string, string[][]>();
  for (const r of b.nfdump) theirs.set(key(r), [...(theirs.get(key(r)) ?? []), r]);
  return ours.map((r) => [r, theirs.get(key(r))!.shift()!]);
}

/** nfcapd 1.7.1's v9 rows of these protocols have port 0 (see the top of the file). */
const icmpPortAsNfcapd =
  (protos: string[]) =>
  (r: string[]): string[] =>
    protos.includes(r[PR]) ? r.map((c, i) => (i === DP ? '0' : c)) : r;

/** Each run starts two collectors and an exporter; on a loaded 2-core machine that can take a while. */
const SLOW = 60_000;

describe('real exporters into flowcapd and nfcapd at once', () => {
  for (const pcap of ['pcapplusplus-example2.pcap', 'ipfixprobe-mixed.pcap']) {
    it.concurrent(`softflowd -v 5 (${pcap}): the same flows, times to the millisecond`, async () => {
      const b = await feedBoth(softflowd(pcap, '5'));
      expectSame(b, 30);
      expect(b.log).toMatch(/v5 engine 0: packets \d+, flows \d+, sequence errors 0 \(missing 0\), malformed 0/);
    }, SLOW);

    it.concurrent(`softflowd -v 10 -A milli (${pcap}): the same flows, absolute times`, async () => {
      const b = await feedBoth(softflowd(pcap, '10', ['-A', 'milli', '-6']));
      expectSame(b, 40);
      // softflowd numbers IPFIX messages including their own records; flowcapd notices and does not count gaps.
      expect(b.log).toMatch(/IPFIX domain 0: packets \d+, flows \d+, sequence errors 0 \(missing 0(, inclusive numbering tolerated)?\), malformed 0/);
    }, SLOW);

    it.concurrent(`softflowd -v 9 (${pcap}): the same flows; times exactly 2^32 ms before nfcapd's (softflowd's wrap)`, async () => {
      const b = await feedBoth(softflowd(pcap, '9', ['-6']));
      for (const [ours, theirs] of pairWithoutTimes(b, 40, icmpPortAsNfcapd(['ICMP6']))) {
        // Whole seconds in csv: the shift is 2^32 ms = 4294967.296 s, so the seconds differ by 4294967 or 4294968.
        const d = csvTime(theirs[TS]) - csvTime(ours[TS]);
        expect(Math.abs(d - WRAP_MS)).toBeLessThan(1000);
        expect(ours[TD]).toBe(theirs[TD]);
      }
      expect(b.log).toMatch(/v9 source id 0: packets \d+, flows \d+, sequence errors 0 \(missing 0\), malformed 0/);
    }, SLOW);

    it.concurrent(`softflowd -v 10 (${pcap}): the same flows; nfcapd 1.7.1 swaps first and last`, async () => {
      const b = await feedBoth(softflowd(pcap, '10', ['-6']));
      for (const [ours, theirs] of pairWithoutTimes(b, 40)) {
        expect(Math.abs(csvTime(theirs[TE]) - csvTime(ours[TS]) - WRAP_MS)).toBeLessThan(1000);
        expect(Math.abs(csvTime(theirs[TS]) - csvTime(ours[TE]) - WRAP_MS)).toBeLessThan(1000);
        expect(Number(ours[TD])).toBeGreaterThanOrEqual(0);
      }
      // The uptime base came from softflowd's options record (IE 160): no time was left unplaced.
      expect(b.log).toMatch(/unplaced times 0/);
    }, SLOW);
  }

  it.concurrent('nfreplay -v 5 and -v 9 (an nfcapd file of softflowd flows, replayed): the same flows', async () => {
    const src = await startNfcapd({ bufferBytes: 33554432 });
    try {
      await softflowd('pcapplusplus-example2.pcap', '5')(src.port);
      await src.stop();
      const file = join(src.dir, (await readdir(src.dir)).find((f) => f.startsWith('nfcapd.'))!);
      for (const v of ['5', '9']) {
        const b = await feedBoth(async (port) => {
          await execFileP('nfreplay', ['-r', file, '-H', '127.0.0.1', '-p', String(port), '-v', v, '-d', '200']);
        });
        expectSame(b, 500);
        expect(b.log).toMatch(/sequence errors 0 \(missing 0\), malformed 0/);
      }
    } finally {
      await src.cleanup();
    }
  }, SLOW);

  for (const v of ['5', '9', '10']) {
    it.concurrent(`pmacctd with nfprobe, NetFlow ${v === '10' ? 'IPFIX' : `v${v}`}: the same flows`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pmacctd-'));
      try {
        const b = await feedBoth(async (port) => {
          const conf = join(dir, 'pmacctd.conf');
          await writeFile(conf, [
            'daemonize: false',
            `pcap_savefile: ${join(PCAPS, 'pcapplusplus-example2.pcap')}`,
            'plugins: nfprobe',
            `nfprobe_receiver: 127.0.0.1:${port}`,
            `nfprobe_version: ${v}`,
            'aggregate: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags',
            '',
          ].join('\n'));
          // pmacctd reads the capture, exports what its cache holds when it ends, and exits. Under load its core
          // sometimes outlives the nfprobe plugin that already exported and exits 1 ("no more plugins active"); that
          // is pmacctd's shutdown race, and the flows compared below show whether anything was missing.
          await execFileP('pmacctd', ['-f', conf], { timeout: 60_000 }).catch((e: { stderr?: string; stdout?: string; code?: number }) => {
            const out = ((e.stdout ?? '') + (e.stderr ?? '')).split('\n').filter((l) => !l.includes('INFO')).join(' | ');
            if (!(e.code === 1 && out.includes('no more plugins active'))) throw new Error(`pmacctd failed (exit ${e.code}): ${out}`);
          });
        });
        // All of them (v5 cannot carry the 2 IPv6 flows), so an export cut short by pmacctd's exit would show.
        expect(b.flowdump).toHaveLength(v === '5' ? 508 : 510);
        if (v === '9') {
          expect(lines(b.flowdump.map(icmpPortAsNfcapd(['ICMP'])))).toEqual(lines(b.nfdump));
          // Echo requests keep their 8.0 (2048) with flowcapd.
          expect(b.flowdump.some((r) => r[PR] === 'ICMP' && r[DP] === '2048')).toBe(true);
        } else expectSame(b, 508);
        expect(b.log).toMatch(/malformed 0/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, SLOW);
  }
});
