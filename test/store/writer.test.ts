import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILE_TEMPLATES, slotName } from '../../src/store/format.js';
import { FlowFileWriter, type ClosedFile } from '../../src/store/writer.js';
import { FlowRecord } from '../../src/wire/record.js';
import { readFlows } from '../collect/run-flowcapd.js';

const execFileP = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowstore-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A record using every field FlowRecord has, varied by n. */
function full(n: number, kind: 'v4' | 'v6' | 'v4nh6ext' | 'bare'): FlowRecord {
  const r = new FlowRecord();
  r.ipVersion = kind === 'v6' ? 6 : 4;
  if (kind === 'v6') {
    r.src.set([0x20010db8, 0, 0, n]);
    r.dst.set([0x20010db8, 0xffff, 1, 2]);
    r.nextHop.set([0xfe800000, 0, 0, 1]);
    r.flowLabel = 0xabcde;
    r.exporter.set([0x20010db8, 0, 0, 0x99]);
    r.exporterVersion = 6;
  } else {
    r.src[0] = (0x0a000000 | n) >>> 0;
    r.dst[0] = 0xc0a80101;
    if (kind === 'v4nh6ext') r.nextHop.set([0x20010db8, 0, 0, 7]);
    else r.nextHop[0] = 0xc0a801fe;
    if (kind !== 'bare') {
      r.exporter[0] = 0x7f000001;
      r.exporterVersion = 4;
    }
  }
  r.srcPort = 40000 + n;
  r.dstPort = 443;
  r.protocol = 6;
  r.tcpFlags = 0x1db;
  r.tos = 0xb8;
  r.packets = 2 ** 40 + n;
  r.octets = 2 ** 50 + n;
  r.startSec = 1_795_556_263;
  r.startNsec = 123_456_789;
  r.endSec = 1_795_556_300 + n;
  r.endNsec = 999_999_999;
  r.endReason = 3;
  r.direction = 1;
  r.inputIf = 2 ** 31 + 5;
  r.outputIf = 7;
  r.vlan = 100;
  r.postVlan = 200;
  r.srcMacHi = 0x0011;
  r.srcMacLo = 0x22334455;
  r.dstMacHi = 0xaabb;
  r.dstMacLo = 0xccddeeff;
  r.srcAs = 4_200_000_000;
  r.dstAs = 65001;
  r.srcMask = kind === 'v6' ? 64 : 24;
  r.dstMask = kind === 'v6' ? 48 : 16;
  if (kind === 'v4nh6ext') {
    // Entries as the wire carries them: label, TC and bottom-of-stack (no TTL, RFC 7012 IE 70).
    r.mplsDepth = 3;
    r.mpls.set([(1000 << 12) | (5 << 9), (2000 << 12) | (1 << 9), (3000 << 12) | (1 << 8)]);
    r.revPackets = 12;
    r.revOctets = 3456;
    r.revTcpFlags = 0x12;
    r.revTos = 4;
  }
  return r;
}

function clockAt(ms: number): { now: () => number; set: (t: number) => void } {
  let t = ms;
  return { now: () => t, set: (x) => (t = x) };
}

const visible = (): string[] => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
const hidden = (): string[] => readdirSync(dir).filter((f) => f.startsWith('.')).sort();

describe('flow files', () => {
  it('keep every field of every kind of record, nanoseconds and 64-bit counters included', async () => {
    const recs = [full(1, 'v4'), full(2, 'v6'), full(3, 'v4nh6ext'), full(4, 'bare'), full(5, 'v4')];
    const w = new FlowFileWriter({ dir });
    for (const r of recs) w.onFlow(r);
    expect(w.close()).toBe(true);
    const back = await readFlows([dir]);
    expect(back).toEqual(recs);
    expect(FILE_TEMPLATES.map((t) => t.id)).toEqual(Array.from({ length: 12 }, (_, i) => 256 + i));
  });

  it('are IPFIX files (RFC 5655) that tshark reads as such: every record, no malformed frame or expert warning', async () => {
    const w = new FlowFileWriter({ dir });
    const n = 3000; // several 64 KiB messages
    for (let i = 0; i < n; i++) w.onFlow(full(i % 1000, i % 3 === 0 ? 'v6' : 'v4'));
    w.close();
    const [file] = visible();
    const { stdout } = await execFileP('tshark', [
      '-r', join(dir, file), '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;',
      '-e', '_ws.malformed', '-e', '_ws.expert.message', '-e', 'cflow.packets', '-e', 'cflow.abstimestart',
    ], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 });
    const frames = stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    expect(frames.length).toBeGreaterThan(3);
    expect(frames.filter((c) => c[0] !== '' || c[1] !== '')).toEqual([]);
    const packets = frames.flatMap((c) => (c[2] ? c[2].split(';') : []));
    expect(packets).toHaveLength(n);
    expect(packets[1]).toBe(String(2 ** 40 + 1));
    expect(frames[1][3].split(';')[0]).toBe('Nov 24, 2026 21:37:43.123456789 UTC');
  });

  it('rotate on aligned boundaries, named after the slot start, hidden until renamed', async () => {
    const slot = Math.floor(Date.UTC(2026, 10, 24, 19, 50, 0) / 60_000) * 60_000;
    const clock = clockAt(slot + 58_500);
    const closed: ClosedFile[] = [];
    const w = new FlowFileWriter({ dir, interval: 60, now: clock.now, onFileClosed: (f) => closed.push(f) });
    for (let i = 0; i < 3; i++) w.onFlow(full(i, 'v4'));
    w.tick();
    expect(visible()).toEqual([]);
    expect(hidden()).toEqual([`.${slotName('flows', slot, 60)}.${process.pid}.tmp`]);
    expect(statSync(join(dir, hidden()[0])).size).toBeGreaterThan(0);
    clock.set(slot + 60_000); // the boundary itself belongs to the next slot
    w.onFlow(full(10, 'v4'));
    w.onFlow(full(11, 'v4'));
    expect(visible()).toEqual([slotName('flows', slot, 60)]);
    expect(w.close()).toBe(true);
    expect(visible()).toEqual([slotName('flows', slot, 60), slotName('flows', slot + 60_000, 60)]);
    expect(hidden()).toEqual([]);
    expect(closed.map((f) => f.records)).toEqual([3, 2]);
    expect(visible()[0]).toMatch(/^flows\.\d{12}$/);
    const first = await readFlows([], [join(dir, visible()[0])]);
    const second = await readFlows([], [join(dir, visible()[1])]);
    expect(first.map((r) => r.srcPort)).toEqual([40000, 40001, 40002]);
    expect(second.map((r) => r.srcPort)).toEqual([40010, 40011]);
  });

  it('name files with seconds below a minute, and write empty intervals when asked (as nfcapd)', async () => {
    const t0 = Date.UTC(2026, 10, 24, 19, 50, 1, 500);
    const clock = clockAt(t0);
    const w = new FlowFileWriter({ dir, interval: 2, now: clock.now, keepEmpty: true });
    w.onFlow(full(1, 'v4'));
    for (let t = t0; t <= t0 + 6000; t += 500) {
      clock.set(t);
      w.tick();
    }
    w.close();
    const names = visible();
    expect(names).toEqual(['00', '02', '04', '06'].map((s) => slotName('flows', Date.UTC(2026, 10, 24, 19, 50, Number(s)), 2)));
    expect(names[0]).toMatch(/^flows\.\d{12}00$/);
    expect(await readFlows([dir])).toHaveLength(1);
    for (const n of names.slice(1)) expect(await readFlows([], [join(dir, n)])).toHaveLength(0);
  });

  it('never overwrite a finished file: a second file for the same slot gets a suffix', async () => {
    const clock = clockAt(Date.UTC(2026, 10, 24, 19, 50, 10));
    const w = new FlowFileWriter({ dir, interval: 60, now: clock.now });
    w.onFlow(full(1, 'v4'));
    w.rotate(); // SIGHUP
    w.onFlow(full(2, 'v4'));
    w.close();
    const name = slotName('flows', Date.UTC(2026, 10, 24, 19, 50), 60);
    expect(visible()).toEqual([name, `${name}.1`]);
    expect((await readFlows([dir])).map((r) => r.srcPort)).toEqual([40001, 40002]);
  });

  it('a temporary file left by a crashed run is finished at the next start: cut after its last whole message', async () => {
    const clock = clockAt(Date.UTC(2026, 10, 24, 19, 50, 10));
    const crashed = new FlowFileWriter({ dir, interval: 60, now: clock.now });
    for (let i = 0; i < 5; i++) crashed.onFlow(full(i, 'v4'));
    crashed.tick(); // on disk, never closed: as if the process died here
    const [tmp] = hidden();
    appendFileSync(join(dir, tmp), Buffer.from([0, 10, 0, 200, 1, 2, 3])); // a message cut off mid-write
    const logs: string[] = [];
    const w = new FlowFileWriter({ dir, interval: 60, now: clock.now, log: (l) => logs.push(l) });
    expect(w.stats.recovered).toBe(1);
    expect(logs.join('\n')).toMatch(/recovered .*: \d+ bytes kept, 7 bytes of a cut-off message dropped/);
    expect(hidden()).toEqual([]);
    w.onFlow(full(9, 'v4'));
    w.close();
    const name = slotName('flows', Date.UTC(2026, 10, 24, 19, 50), 60);
    expect(visible()).toEqual([name, `${name}.1`]);
    const warnings: string[] = [];
    expect((await readFlows([dir], [], warnings)).map((r) => r.srcPort)).toEqual([40000, 40001, 40002, 40003, 40004, 40009]);
    expect(warnings).toEqual([]);
  });

  it('reject a bad interval or prefix, and a directory that does not exist, with one line', () => {
    expect(() => new FlowFileWriter({ dir, interval: 0 })).toThrow(/whole number of seconds/);
    expect(() => new FlowFileWriter({ dir, prefix: '../x' })).toThrow(/prefix/);
    expect(() => new FlowFileWriter({ dir: join(dir, 'nope') })).toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });
});
