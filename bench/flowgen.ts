/**
 * A capture in which many flows are active at once, for the memory benchmark. genpcap.py keeps about 2,000 flows
 * going and starts a new one every ~60 packets, so a million flows would take some 60 million packets; here every
 * flow is one packet each way (the reply ~1,000 flows later), so N flows take 2N packets and all N are open at the
 * end. The mix follows genpcap's: ~10% IPv6, 70% TCP (SYN, SYN-ACK), 23% UDP, the rest ICMP echo; 600 s of time.
 * Every flow's key is distinct by construction (the client address is the flow's number).
 *
 *   npx tsx bench/flowgen.ts OUT.pcap [FLOWS]
 */
import fs from 'node:fs';
import { rng } from '../test/flow/helpers.js';

const REPLY_LAG = 1000;
const SPAN_S = 600;
const T0 = 1_700_000_000;

interface Flow {
  v6: boolean;
  proto: number;
  client: number;
  server: number;
  sport: number;
  dport: number;
}

const PORTS = [80, 443, 443, 53, 22, 25, 123, 3306, 8080];

export function writeFlows(out: string, flows: number): void {
  if (flows > 1 << 24) throw new RangeError('at most 2^24 flows (client addresses are the flow number)');
  const rnd = rng(flows);
  const defs: Flow[] = [];
  const fd = fs.openSync(out, 'w');
  const chunk = Buffer.alloc(1 << 20);
  let used = 0;
  const flush = (): void => {
    fs.writeSync(fd, chunk, 0, used);
    used = 0;
  };
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  fs.writeSync(fd, hdr);

  const total = 2 * flows;
  let written = 0;
  const packet = (f: Flow, reply: boolean): void => {
    if (used + 200 > chunk.length) flush();
    const t = T0 + (written * SPAN_S) / total;
    const rec = used;
    let p = rec + 16;
    // Ethernet
    chunk.fill(0, p, p + 12);
    chunk[p + 5] = reply ? 1 : 2;
    chunk[p + 11] = reply ? 2 : 1;
    chunk.writeUInt16BE(f.v6 ? 0x86dd : 0x0800, p + 12);
    p += 14;
    const l4len = f.proto === 6 ? 20 : 8;
    if (f.v6) {
      chunk.writeUInt32BE(0x60000000, p);
      chunk.writeUInt16BE(l4len, p + 4);
      chunk[p + 6] = f.proto === 1 ? 58 : f.proto;
      chunk[p + 7] = 64;
      const a = reply ? p + 24 : p + 8;
      const b = reply ? p + 8 : p + 24;
      // 2001:db8:1::<client> and 2001:db8:ffff::<server>
      chunk.fill(0, p + 8, p + 40);
      chunk.writeUInt32BE(0x20010db8, a);
      chunk.writeUInt16BE(1, a + 4);
      chunk.writeUInt32BE(f.client, a + 12);
      chunk.writeUInt32BE(0x20010db8, b);
      chunk.writeUInt16BE(0xffff, b + 4);
      chunk.writeUInt32BE(f.server, b + 12);
      p += 40;
    } else {
      chunk[p] = 0x45;
      chunk[p + 1] = 0;
      chunk.writeUInt16BE(20 + l4len, p + 2);
      chunk.writeUInt32BE(0x4000, p + 4);
      chunk[p + 8] = 64;
      chunk[p + 9] = f.proto;
      chunk.writeUInt16BE(0, p + 10);
      // 10.<client> and 192.0.2.<server>
      const client = (10 << 24) | f.client;
      const server = (0xc00002 << 8) | (f.server & 0xff);
      chunk.writeUInt32BE((reply ? server : client) >>> 0, p + 12);
      chunk.writeUInt32BE((reply ? client : server) >>> 0, p + 16);
      p += 20;
    }
    const sp = reply ? f.dport : f.sport;
    const dp = reply ? f.sport : f.dport;
    if (f.proto === 6) {
      chunk.fill(0, p, p + 20);
      chunk.writeUInt16BE(sp, p);
      chunk.writeUInt16BE(dp, p + 2);
      chunk[p + 12] = 0x50;
      chunk[p + 13] = reply ? 0x12 : 0x02;
      chunk.writeUInt16BE(65535, p + 14);
    } else if (f.proto === 17) {
      chunk.writeUInt16BE(sp, p);
      chunk.writeUInt16BE(dp, p + 2);
      chunk.writeUInt16BE(8, p + 4);
      chunk.writeUInt16BE(0, p + 6);
    } else {
      // ICMP echo request/reply (ICMPv6 128/129)
      chunk[p] = f.v6 ? (reply ? 129 : 128) : reply ? 0 : 8;
      chunk.fill(0, p + 1, p + 8);
      chunk.writeUInt16BE(f.sport, p + 4);
    }
    p += l4len;
    const caplen = p - (rec + 16);
    chunk.writeUInt32LE(Math.floor(t), rec);
    chunk.writeUInt32LE(Math.floor((t % 1) * 1e6), rec + 4);
    chunk.writeUInt32LE(caplen, rec + 8);
    chunk.writeUInt32LE(caplen, rec + 12);
    used = p;
    written++;
  };

  for (let i = 0; i < flows + REPLY_LAG; i++) {
    if (i < flows) {
      const r = rnd();
      const f: Flow = {
        v6: rnd() < 0.1,
        proto: r < 0.7 ? 6 : r < 0.93 ? 17 : 1,
        client: i + 1,
        server: 1 + Math.floor(rnd() * 254),
        sport: 1024 + Math.floor(rnd() * 64512),
        dport: PORTS[Math.floor(rnd() * PORTS.length)]!,
      };
      defs.push(f);
      packet(f, false);
    }
    const j = i - REPLY_LAG;
    if (j >= 0 && j < flows) {
      packet(defs[j]!, true);
      defs[j] = undefined as unknown as Flow;
    }
  }
  flush();
  fs.closeSync(fd);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: flowgen.ts OUT.pcap [FLOWS]');
    process.exit(2);
  }
  const n = Number(process.argv[3] ?? 1_000_000);
  writeFlows(out, n);
  console.log(`wrote ${2 * n} packets, ${n} flows -> ${out}`);
}
