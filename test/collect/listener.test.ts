/**
 * The receiver's batch sockets (recvmmsg into slots): real UDP over 127.0.0.1 and ::1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  UdpListener, metaAddr, metaFamily, metaLength, metaPort, metaTruncated, metaWords, type Batch,
} from '../../src/collect/listener.js';
import { Collector, DEFAULTS, parseCidr } from '../../src/collect/collector.js';
import { formatAddr } from '../../src/decode/address.js';

interface Got {
  bytes: number[];
  family: number;
  address: string;
  port: number;
  truncated: number;
  length: number;
}

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

async function sender(family: 4 | 6): Promise<Socket> {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, family === 6 ? '::1' : '127.0.0.1', r));
  opened.push(s);
  return s;
}

const send = (s: Socket, data: Uint8Array, port: number, to: string): Promise<void> =>
  new Promise((res, rej) => s.send(data, port, to, (e) => (e ? rej(e) : res())));

/** What each datagram of a batch says, copied out of the slots. */
function unpack(b: Batch, n: number, into: Got[]): void {
  for (let i = 0; i < n; i++) {
    const m = b.meta.subarray(i * metaWords, (i + 1) * metaWords);
    const start = i * b.slotBytes;
    into.push({
      bytes: [...b.buf.subarray(start, start + m[metaLength])],
      family: m[metaFamily],
      address: formatAddr(m.subarray(metaAddr, metaAddr + 4), m[metaFamily]),
      port: m[metaPort],
      truncated: m[metaTruncated],
      length: m[metaLength],
    });
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('batch UDP receive', () => {
  for (const [family, addr] of [[4, '127.0.0.1'], [6, '::1']] as const) {
    it(`delivers every datagram to ${addr} with its bytes, source address and port, several to a read`, async () => {
      const l = await UdpListener.open(addr, 0, { rcvbuf: 1 << 20, slots: 8, slotBytes: 2048 });
      opened.push(l);
      expect(l.family).toBe(family);
      expect(l.port).toBeGreaterThan(0);
      const got: Got[] = [];
      const reads: number[] = [];
      // 50 datagrams sent before the first read: they wait in the kernel and come in reads of up to 8.
      const a = await sender(family);
      const b = await sender(family);
      const sent: { bytes: number[]; port: number }[] = [];
      for (let i = 0; i < 50; i++) {
        const s = i % 2 === 0 ? a : b;
        const bytes = Array.from({ length: 1 + ((i * 37) % 2000) }, (_, k) => (i + k) & 0xff);
        await send(s, Uint8Array.from(bytes), l.port, addr);
        sent.push({ bytes, port: s.address().port });
      }
      l.start((batch, n) => {
        reads.push(n);
        unpack(batch, n, got);
      });
      await until(() => got.length >= 50, '50 datagrams');
      expect(got.length).toBe(50);
      expect(Math.max(...reads)).toBe(8);
      expect(got.map((g) => g.bytes)).toEqual(sent.map((s) => s.bytes));
      expect(got.map((g) => g.port)).toEqual(sent.map((s) => s.port));
      expect(got.every((g) => g.family === family && g.address === addr && g.truncated === 0)).toBe(true);
    });
  }

  it('marks a datagram larger than its slot as truncated with its real length, and writes nothing past the slot', async () => {
    const l = await UdpListener.open('127.0.0.1', 0, { rcvbuf: 1 << 20, slots: 4, slotBytes: 512 });
    opened.push(l);
    const s = await sender(4);
    await send(s, new Uint8Array(1000).fill(0xab), l.port, '127.0.0.1');
    await send(s, Uint8Array.of(1, 2, 3), l.port, '127.0.0.1');
    const got: Got[] = [];
    let second: number[] = [];
    l.start((batch, n) => {
      unpack(batch, n, got);
      if (got.length >= 2) second = [...batch.buf.subarray(512, 1024)];
    });
    await until(() => got.length >= 2, '2 datagrams');
    expect(got[0]).toMatchObject({ truncated: 1000, length: 512 });
    expect(got[1]).toMatchObject({ truncated: 0, length: 3, bytes: [1, 2, 3] });
    // Slot 1 holds the second datagram: the first's 488 bytes beyond its slot went nowhere.
    expect(second.slice(3).some((b) => b === 0xab)).toBe(false);
  });

  it('counts the datagrams the kernel dropped for a full socket buffer, as the next datagram read tells', async () => {
    // The smallest buffer the kernel allows: 100 datagrams of 1000 bytes sent before any read overflow it.
    const l = await UdpListener.open('127.0.0.1', 0, { rcvbuf: 1, slots: 16, slotBytes: 2048 });
    opened.push(l);
    const s = await sender(4);
    for (let i = 0; i < 100; i++) await send(s, new Uint8Array(1000), l.port, '127.0.0.1');
    let got = 0;
    l.start((_b, n) => (got += n));
    await until(() => got > 0, 'the datagrams that fit');
    await new Promise((r) => setTimeout(r, 50));
    const fitted = got;
    expect(fitted).toBeLessThan(100);
    // Drops are told with a datagram queued after them.
    await send(s, Uint8Array.of(1), l.port, '127.0.0.1');
    await until(() => got === fitted + 1, 'the datagram after the drops');
    expect(l.kernelDrops).toBe(100 - fitted);
  });

  it('a collector fed from the slots counts a truncated datagram apart and never reads it', () => {
    const logs: string[] = [];
    const c = new Collector({ ...DEFAULTS, stampExporter: true, ignorePort: false, acceptFrom: [] }, { onFlow() {}, onSuspect() {} },
      (line) => logs.push(line));
    c.truncated(6, 0, 0, 0, 1, 4000, 70000, 65536);
    expect(c.counters).toMatchObject({ datagrams: 1, truncated: 1, unknownVersion: 0 });
    expect(c.list()).toEqual([]);
    expect(logs).toEqual(['[::1]:4000: datagram of 70000 bytes is larger than the 65536-byte receive slot; such datagrams are dropped and counted']);
  });

  it('a truncated datagram from a source --accept-from refuses is counted as refused', () => {
    const c = new Collector({ ...DEFAULTS, stampExporter: true, ignorePort: false, acceptFrom: [parseCidr('192.0.2.0/24')] },
      { onFlow() {}, onSuspect() {} });
    c.truncated(4, 0xc6336401, 0, 0, 0, 4000, 70000, 65536); // 198.51.100.1
    c.truncated(4, 0xc0000201, 0, 0, 0, 4000, 70000, 65536); // 192.0.2.1
    expect(c.counters).toMatchObject({ datagrams: 2, rejected: 1, truncated: 1 });
  });

  it('refuses a port in use with EADDRINUSE and an address not here with EADDRNOTAVAIL', async () => {
    const l = await UdpListener.open('127.0.0.1', 0, { rcvbuf: 0 });
    opened.push(l);
    await expect(UdpListener.open('127.0.0.1', l.port, { rcvbuf: 0 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(UdpListener.open('192.0.2.1', 0, { rcvbuf: 0 })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
});
