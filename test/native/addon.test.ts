import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFile } from '../../src/capture/file.js';
import { openLive } from '../../src/capture/live.js';
import { batchRecordSize, OFF_CAPLEN, OFF_NSEC, OFF_SEC, OFF_WIRELEN, BATCH_HEADER } from '../../src/capture/batch.js';
import type { PacketSource } from '../../src/capture/source.js';

const PCAPS = path.resolve(__dirname, '../../pcaps');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-native-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Pkt {
  sec: number;
  nsec: number;
  caplen: number;
  wirelen: number;
  bytes: Buffer;
}

/** Reads a whole source, batch by batch, returning every packet and the batch sizes seen. */
function readAll(src: PacketSource): { pkts: Pkt[]; batches: number[] } {
  const pkts: Pkt[] = [];
  const batches: number[] = [];
  for (let guard = 0; guard < 1_000_000; guard++) {
    const n = src.next();
    if (n < 0) break;
    batches.push(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const caplen = src.buf.readUInt32LE(off + OFF_CAPLEN);
      pkts.push({
        sec: src.buf.readUInt32LE(off + OFF_SEC),
        nsec: src.buf.readUInt32LE(off + OFF_NSEC),
        caplen,
        wirelen: src.buf.readUInt32LE(off + OFF_WIRELEN),
        bytes: Buffer.from(src.buf.subarray(off + BATCH_HEADER, off + BATCH_HEADER + caplen)),
      });
      off += batchRecordSize(caplen);
    }
  }
  src.close();
  return { pkts, batches };
}

/** One digest per packet (times, lengths, bytes): comparing thousands of Buffers deeply is slow. */
function digests(pkts: Pkt[]): string[] {
  return pkts.map((p) => createHash('sha1').update(`${p.sec}.${p.nsec} ${p.caplen} ${p.wirelen} `).update(p.bytes).digest('hex'));
}

/** tshark's view of each frame: epoch time (ns precision), captured and wire length. */
function tsharkFrames(file: string): { sec: number; nsec: number; caplen: number; wirelen: number }[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const [t, cap, len] = l.split('\t');
      const [s, frac = '0'] = t!.split('.');
      return { sec: Number(s), nsec: Number(frac.padEnd(9, '0').slice(0, 9)), caplen: Number(cap), wirelen: Number(len) };
    });
}

describe('savefile batches', () => {
  it('splits a file into batches of the requested size and loses nothing at the boundaries', () => {
    const file = path.join(PCAPS, 'tcpdump-afs.pcap');
    const whole = readAll(openFile(file, { batchPackets: 100_000, batchBytes: 8 << 20 }));
    const small = readAll(openFile(file, { batchPackets: 100 }));
    expect(whole.pkts.length).toBe(601);
    expect(small.batches.slice(0, 6)).toEqual([100, 100, 100, 100, 100, 100]);
    expect(small.batches[6]).toBe(1);
    expect(digests(small.pkts)).toEqual(digests(whole.pkts));
  });

  it('carries a packet that does not fit in the space left over to the next batch', () => {
    const file = path.join(PCAPS, 'pcapplusplus-example2.pcap');
    const whole = readAll(openFile(file, { batchPackets: 100_000, batchBytes: 16 << 20 }));
    // 4 KiB holds two or three full-size frames: most batches end because the next packet does not fit.
    const tight = readAll(openFile(file, { batchPackets: 1000, batchBytes: 4096 }));
    expect(tight.pkts.length).toBe(whole.pkts.length);
    expect(digests(tight.pkts)).toEqual(digests(whole.pkts));
    expect(Math.max(...tight.batches)).toBeLessThan(1000);
  });

  it('cuts a packet larger than the whole buffer to what fits, keeping its wire length', () => {
    const file = path.join(PCAPS, 'pcapplusplus-example2.pcap');
    const whole = readAll(openFile(file, { batchPackets: 100_000, batchBytes: 16 << 20 }));
    const big = whole.pkts.findIndex((p) => p.caplen > 1000);
    expect(big).toBeGreaterThanOrEqual(0);
    const tiny = readAll(openFile(file, { batchPackets: 1000, batchBytes: 512 }));
    expect(tiny.pkts.length).toBe(whole.pkts.length);
    expect(tiny.pkts[big]!.caplen).toBe(512 - BATCH_HEADER);
    expect(tiny.pkts[big]!.wirelen).toBe(whole.pkts[big]!.wirelen);
    expect(tiny.pkts[big]!.bytes).toEqual(whole.pkts[big]!.bytes.subarray(0, 512 - BATCH_HEADER));
  });

  it('gives the same timestamps and lengths as tshark for µs, ns, big-endian pcap and pcapng', () => {
    for (const f of [
      'tcpdump-tcp-handshake-nano.pcap',
      'pcapplusplus-nanosecs_big_endian.pcap',
      'tcpdump-isup.pcap',
      'tcpdump-OSPFv2_Capture_FINAL.pcapng',
      'zeek-pcapng-multi-interface.pcapng',
      'tcpdump-nfs-attr-oobr.pcap',
    ]) {
      const file = path.join(PCAPS, f);
      const ours = readAll(openFile(file)).pkts.map(({ sec, nsec, caplen, wirelen }) => ({ sec, nsec, caplen, wirelen }));
      expect(ours, f).toEqual(tsharkFrames(file));
    }
  });

  it('keeps sub-microsecond digits of a nanosecond capture', () => {
    const ours = readAll(openFile(path.join(PCAPS, 'tcpdump-tcp-handshake-nano.pcap'))).pkts;
    expect(ours.some((p) => p.nsec % 1000 !== 0)).toBe(true);
  });

  it('returns the packets before a pcapng interface libpcap refuses, then libpcap\'s error', () => {
    // Our own reader takes these files (test/native/pcapng.test.ts); libpcap's, asked for, shows its deferred error.
    const src = openFile(path.join(PCAPS, 'pcapng-test-generator-output_be-test008.pcapng'), { libpcap: true });
    expect(src.next()).toBe(1);
    expect(() => src.next()).toThrow(/snapshot length 128 different/);
    src.close();
    const mixed = openFile(path.join(PCAPS, 'pcapplusplus-many_interfaces-1.pcapng'), { libpcap: true });
    expect(() => mixed.next()).toThrow(/type 0 different from the type of the first interface/);
    mixed.close();
  });

  it('applies a BPF filter to a file', () => {
    const file = path.join(PCAPS, 'ipfixprobe-mixed.pcap');
    const all = readAll(openFile(file)).pkts.length;
    const udp = readAll(openFile(file, { filter: 'udp' })).pkts.length;
    const tcp = readAll(openFile(file, { filter: 'tcp' })).pkts.length;
    const tsharkUdp = execFileSync('tshark', ['-r', file, '-Y', 'udp && !icmp && !icmpv6'], { encoding: 'utf8' }).trim().split('\n').length;
    expect(udp).toBe(tsharkUdp);
    expect(tcp).toBeLessThan(all);
  });
});

describe('errors carry libpcap\'s text', () => {
  it('names a missing file', () => {
    expect(() => openFile(path.join(tmp, 'absent.pcap'))).toThrow(/absent\.pcap: No such file or directory/);
  });
  it('rejects a file that is not a capture', () => {
    const f = path.join(tmp, 'text.pcap');
    fs.writeFileSync(f, 'this is not a capture file at all\n');
    expect(() => openFile(f)).toThrow(/unknown file format/);
  });
  it('reports a capture cut in the middle of a packet after the packets before it', () => {
    const orig = fs.readFileSync(path.join(PCAPS, 'zeek-5-pings.pcap'));
    const f = path.join(tmp, 'cut.pcap');
    fs.writeFileSync(f, orig.subarray(0, orig.length - 30));
    const src = openFile(f);
    expect(src.next()).toBe(9);
    expect(() => src.next()).toThrow(/truncated dump file/);
    src.close();
  });
  it('rejects a bad filter', () => {
    expect(() => openFile(path.join(PCAPS, 'zeek-5-pings.pcap'), { filter: 'tcp port' })).toThrow(/bad filter "tcp port": .*syntax error/);
  });
  it('names an unknown device', () => {
    expect(() => openLive('nosuchdev0')).toThrow(/nosuchdev0: .*(No such device|doesn't exist)/);
  });
});

describe('live capture on lo', () => {
  it('sees datagrams sent on loopback through the event loop, with libpcap statistics', async () => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const port = sink.address().port;
    const src = openLive('lo', { filter: `udp dst port ${port}`, snaplen: 256 });
    expect(src.linkType).toBe(1);
    const seen: number[] = [];
    src.watch(() => {
      for (let n = src.next(); n > 0; n = src.next()) {
        let off = 0;
        for (let i = 0; i < n; i++) {
          const caplen = src.buf.readUInt32LE(off + OFF_CAPLEN);
          seen.push(src.buf.readUInt32LE(off + OFF_WIRELEN));
          off += batchRecordSize(caplen);
        }
      }
    });
    const tx = dgram.createSocket('udp4');
    const N = 50;
    for (let i = 0; i < N; i++) {
      await new Promise<void>((r) => tx.send(Buffer.alloc(100), port, '127.0.0.1', () => r()));
    }
    const deadline = Date.now() + 5000;
    while (seen.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const st = src.stats();
    src.unwatch();
    src.close();
    tx.close();
    sink.close();
    expect(seen.length).toBe(N);
    // 14 Ethernet + 20 IPv4 + 8 UDP + 100 payload
    expect(new Set(seen)).toEqual(new Set([142]));
    expect(st).not.toBeNull();
    expect(st!.received).toBeGreaterThanOrEqual(N);
    expect(st!.dropped).toBe(0);
  });
});
