/**
 * softflowd as the oracle for maxflows eviction: the same capture through `softflowd -r -m N` (statistics only,
 * no collector) and through capture -> decode -> FlowTable with the same N and the same timeouts must expire the
 * same number of flows, evict the same number, and give the same min/avg/max flow sizes and per-protocol totals.
 * Those numbers only agree if every eviction picked the same flows, since a different pick splits later packets
 * differently. Timeouts are long (softflowd -r applies no idle expiry) but distinct per class, so the eviction
 * order by expiry second is exercised, not just by last packet time. Octets are counted softflowd's way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openFile } from '../../src/capture/file.js';
import { PacketView } from '../../src/decode/packet.js';
import { parseTimeoutOption, DEFAULT_TIMEOUTS, Reason, type Timeouts } from '../../src/flow/expiry.js';
import { FlowTable } from '../../src/flow/table.js';
import { pumpBatch } from '../../src/probe/pump.js';
import { rng } from './helpers.js';

const TIMEOUTS = ['tcp=30w', 'tcp.rst=10w', 'tcp.fin=20w', 'udp=5w', 'icmp=7w', 'general=40w', 'maxlife=0'];

interface Summary {
  expired: number;
  forced: number;
  maxflows: number;
  flushed: number;
  bytes: number[];
  packets: number[];
  perProto: string[];
}

function softflowd(file: string, maxFlows: number): Summary {
  const args = ['-r', file, '-m', String(maxFlows), '-v', '9', ...TIMEOUTS.flatMap((t) => ['-t', t])];
  const out = execFileSync('softflowd', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const num = (re: RegExp) => Number(re.exec(out)![1]);
  const triple = (label: string) => new RegExp(`${label}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`).exec(out)!.slice(1).map(Number);
  const perProto = [...out.matchAll(/\((\d+)\):\s+(\d+)\s+(\d+)/g)].map((m) => `${m[1]}:${m[2]}:${m[3]}`);
  return {
    expired: num(/Flows expired: (\d+)/),
    forced: num(/Flows expired: \d+ \((\d+) forced\)/),
    maxflows: num(/maxflows =\s+(\d+)/),
    flushed: num(/flushed =\s+(\d+)/),
    bytes: triple('Flow bytes'),
    packets: triple('Flow packets'),
    perProto,
  };
}

function flowprobe(file: string, maxFlows: number, checkEvery = maxFlows): Summary {
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
  for (const t of TIMEOUTS) parseTimeoutOption(t, timeouts);
  const table = new FlowTable({ onFlow() {} }, { maxFlows, checkEvery, timeouts, octets: 'link' });
  const src = openFile(file);
  const v = new PacketView();
  const consumer = { onPacket: (p: PacketView) => void table.update(p) };
  for (let n = src.next(); n > 0; n = src.next()) pumpBatch(src, n, v, consumer);
  src.close();
  // softflowd checks once more after its last, partial batch, then flushes at end of file.
  table.enforceMaxFlows();
  table.expireAll();
  const s = table.stats;
  const perProto: string[] = [];
  for (let p = 0; p < 256; p++) if (s.protoPackets[p] > 0) perProto.push(`${p}:${s.protoOctets[p]}:${s.protoPackets[p]}`);
  return {
    expired: s.flowsExpired,
    forced: s.flowsForced,
    maxflows: s.reasons[Reason.MAXFLOWS],
    flushed: s.reasons[Reason.FLUSHED],
    bytes: [s.flowOctets.min, Math.round(s.flowOctets.mean), s.flowOctets.max],
    packets: [s.flowPackets.min, Math.round(s.flowPackets.mean), s.flowPackets.max],
    perProto,
  };
}

/**
 * An Ethernet pcap of interleaved conversations: TCP (closed by FIN both ways, by RST, or left open), UDP, ICMP
 * echo and IPv6 UDP, with sizes and gaps from a seeded generator, over about five minutes.
 */
function writeCapture(path: string, conversations: number, seed: number): void {
  const rand = rng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  type Conv = { kind: number; a: number; b: number; sport: number; dport: number; left: number; sent: number };
  const convs: Conv[] = [];
  for (let i = 0; i < conversations; i++) {
    convs.push({ kind: int(5), a: 0x0a000000 + int(1 << 16), b: 0xc0000200 + int(254), sport: 1024 + int(60000), dport: [22, 53, 80, 443][int(4)], left: 1 + int(rand() < 0.2 ? 60 : 6), sent: 0 });
  }
  const records: Buffer[] = [];
  let t = 1_700_000_000;
  const live: Conv[] = [];
  let next = 0;
  while (next < convs.length || live.length > 0) {
    if (next < convs.length && (live.length < 40 || rand() < 0.1)) live.push(convs[next++]);
    const c = live[int(live.length)];
    const reply = c.sent > 0 && rand() < 0.45;
    const last = c.left === 1;
    t += rand() * 0.1;
    records.push(record(t, frame(c, reply, last)));
    c.sent++;
    if (--c.left === 0) live.splice(live.indexOf(c), 1);
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  writeFileSync(path, Buffer.concat([header, ...records]));

  function record(time: number, data: Buffer): Buffer {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(time), 0);
    h.writeUInt32LE(Math.floor((time % 1) * 1e6), 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    return Buffer.concat([h, data]);
  }

  function frame(c: Conv, reply: boolean, last: boolean): Buffer {
    const payload = [0, 20, 100, 512, 1400][int(5)];
    const v6 = c.kind === 4;
    let l4: Buffer;
    let proto: number;
    if (c.kind <= 1) {
      proto = 6;
      l4 = Buffer.alloc(20 + payload);
      l4.writeUInt16BE(reply ? c.dport : c.sport, 0);
      l4.writeUInt16BE(reply ? c.sport : c.dport, 2);
      l4[12] = 0x50;
      // kind 0 closes with FIN (both sides send one near the end), kind 1 with RST; a few stay open.
      l4[13] = c.sent === 0 ? 0x02 : last ? (c.kind === 0 ? 0x11 : 0x04) : c.left <= 2 && c.kind === 0 ? 0x11 : 0x10;
    } else if (c.kind === 2) {
      proto = 1;
      l4 = Buffer.alloc(8 + payload);
      l4[0] = reply ? 0 : 8;
    } else {
      proto = 17;
      l4 = Buffer.alloc(8 + payload);
      l4.writeUInt16BE(reply ? c.dport : c.sport, 0);
      l4.writeUInt16BE(reply ? c.sport : c.dport, 2);
      l4.writeUInt16BE(l4.length, 4);
    }
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
    const [src, dst] = reply ? [c.b, c.a] : [c.a, c.b];
    let ip: Buffer;
    if (v6) {
      ip = Buffer.alloc(40);
      ip.writeUInt32BE(0x60000000, 0);
      ip.writeUInt16BE(l4.length, 4);
      ip[6] = proto;
      ip[7] = 64;
      ip.writeUInt32BE(0x20010db8, 8);
      ip.writeUInt32BE(src, 20);
      ip.writeUInt32BE(0x20010db8, 24);
      ip.writeUInt32BE(dst, 36);
    } else {
      ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + l4.length, 2);
      ip[8] = 64;
      ip[9] = proto;
      ip.writeUInt32BE(src, 12);
      ip.writeUInt32BE(dst, 16);
    }
    return Buffer.concat([eth, ip, l4]);
  }
}

describe('maxflows against softflowd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowprobe-maxflows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const synthetic = join(dir, 'conversations.pcap');
  writeCapture(synthetic, 900, 11);

  for (const m of [5, 40, 300]) {
    it(`evicts the same flows as softflowd -m ${m} (synthetic conversations)`, () => {
      const theirs = softflowd(synthetic, m);
      expect(theirs.forced).toBeGreaterThan(0);
      expect(theirs.perProto).toHaveLength(3); // ICMP, TCP, UDP (IPv4 and IPv6)
      expect(flowprobe(synthetic, m)).toEqual(theirs);
    });
  }

  for (const m of [3, 17]) {
    it(`evicts the same flows as softflowd -m ${m} (pcaps/ipfixprobe-mixed.pcap)`, () => {
      const file = fileURLToPath(new URL('../../pcaps/ipfixprobe-mixed.pcap', import.meta.url));
      const theirs = softflowd(file, m);
      expect(theirs.forced).toBeGreaterThan(0);
      expect(flowprobe(file, m)).toEqual(theirs);
    });
  }

  it('would not, checking after every packet: the batch is what makes the flows equal', () => {
    expect(flowprobe(synthetic, 40, 1).expired).not.toBe(softflowd(synthetic, 40).expired);
  });
});
