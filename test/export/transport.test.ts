import { describe, it, expect } from 'vitest';
import dgram from 'node:dgram';
import { MAX_PACED_QUEUE, parseCollector, UdpTransport } from '../../src/export/transport.js';

function listen(type: 'udp4' | 'udp6', host: string, port = 0): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(type);
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    sock.once('error', reject);
    // The receiver shares this test's event loop with the sender, so give it room for a scheduling hiccup.
    sock.bind(port, host, () => {
      sock.setRecvBufferSize(4 << 20);
      resolve({ sock, port: sock.address().port, got });
    });
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('collector addresses', () => {
  it('parses host:port, [v6]:port and names', () => {
    expect(parseCollector('127.0.0.1:2055')).toEqual({ host: '127.0.0.1', port: 2055 });
    expect(parseCollector('[::1]:9995')).toEqual({ host: '::1', port: 9995 });
    expect(parseCollector('collector.example:4739')).toEqual({ host: 'collector.example', port: 4739 });
  });
  it('rejects what is not host:port with a message naming the input', () => {
    expect(() => parseCollector('127.0.0.1')).toThrow(/bad collector "127.0.0.1": no port/);
    expect(() => parseCollector('127.0.0.1:http')).toThrow(/not a number/);
    expect(() => parseCollector('127.0.0.1:70000')).toThrow(/out of range/);
    expect(() => parseCollector('::1:9995')).toThrow(/brackets/);
  });
});

describe('UDP transport', () => {
  it('delivers a paced burst to every collector, IPv4 and IPv6, without loss', { timeout: 20000 }, async () => {
    const a = await listen('udp4', '127.0.0.1');
    const b = await listen('udp6', '::1');
    const t = await UdpTransport.open(
      [
        { host: '127.0.0.1', port: a.port },
        { host: '::1', port: b.port },
      ],
      { rate: 20000 },
    );
    const d = Buffer.alloc(1400);
    const N = 3000;
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      d.writeUInt32BE(i, 0);
      t.send(d);
    }
    await t.drained();
    const took = performance.now() - start;
    await until(() => a.got.length === N && b.got.length === N);
    await t.close();
    a.sock.close();
    b.sock.close();
    expect(a.got.length).toBe(N);
    expect(b.got.length).toBe(N);
    expect(a.got.map((m) => m.readUInt32BE(0))).toEqual([...Array(N).keys()]);
    expect(t.stats.failures).toBe(0);
    // 3000 datagrams at 20000/s cannot leave in much less than 150 ms: the burst was paced.
    expect(took).toBeGreaterThan(100);
  });

  it('holds at most MAX_PACED_QUEUE datagrams: beyond that the oldest go at once, in order, and it says so once', { timeout: 20000 }, async () => {
    const a = await listen('udp4', '127.0.0.1');
    const errors: string[] = [];
    const t = await UdpTransport.open([{ host: '127.0.0.1', port: a.port }], { rate: 20000, onError: (m) => errors.push(m) });
    const N = MAX_PACED_QUEUE + 1500;
    const d = Buffer.alloc(64);
    let most = 0;
    for (let i = 0; i < N; i++) {
      d.writeUInt32BE(i, 0);
      t.send(d);
      most = Math.max(most, t.pending);
    }
    expect(most).toBe(MAX_PACED_QUEUE);
    await t.drained();
    await until(() => a.got.length === N);
    await t.close();
    a.sock.close();
    expect(a.got.length).toBe(N);
    expect(a.got.every((m, i) => m.readUInt32BE(0) === i)).toBe(true);
    expect(t.stats.failures).toBe(0);
    expect(errors).toEqual([`export queue over ${MAX_PACED_QUEUE} datagrams: sending faster than the export rate (20000/s) until it drains`]);
  });

  it('sends paced datagrams byte for byte from reused queue buffers, whatever their sizes from burst to burst', { timeout: 20000 }, async () => {
    const a = await listen('udp4', '127.0.0.1');
    const t = await UdpTransport.open([{ host: '127.0.0.1', port: a.port }], { rate: 20000 });
    // Two bursts well past the pacing burst, so most of each waits in the queue; the second one's datagrams reuse
    // the first one's slots with other lengths (shorter, and longer than a slot's first size).
    const sizes = [...Array(300).keys()].map((i) => [1400, 64, 3000, 9000, 17][i % 5]!);
    const sent: Buffer[] = [];
    for (const round of [0, 1]) {
      for (let i = 0; i < sizes.length; i++) {
        const d = Buffer.alloc(round === 0 ? sizes[i]! : sizes[(i + 2) % sizes.length]!, (i * 7 + round) & 0xff);
        d.writeUInt32BE(sent.length, 0);
        sent.push(Buffer.from(d));
        t.send(d);
        // The caller reuses its buffer: the queue must have taken a copy.
        d.fill(0xee);
      }
      await t.drained();
    }
    await until(() => a.got.length === sent.length);
    await t.close();
    a.sock.close();
    expect(a.got.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) expect(a.got[i]!.equals(sent[i]!)).toBe(true);
  });

  it('counts failures while a collector is down and delivers again when it returns', async () => {
    // Find a free port, then close it so sends to it draw ICMP port unreachable.
    const probe = await listen('udp4', '127.0.0.1');
    const port = probe.port;
    await new Promise<void>((r) => probe.sock.close(() => r()));
    const errors: string[] = [];
    const t = await UdpTransport.open([{ host: '127.0.0.1', port }], { onError: (m) => errors.push(m) });
    for (let i = 0; i < 20; i++) {
      t.send(Buffer.from('down'));
      await t.drained();
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(t.stats.failures).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/export to 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
    const back = await listen('udp4', '127.0.0.1', port);
    for (let i = 0; i < 5; i++) t.send(Buffer.from('up'));
    await t.drained();
    await until(() => back.got.length === 5);
    expect(back.got.map(String)).toEqual(['up', 'up', 'up', 'up', 'up']);
    await t.close();
    back.sock.close();
  });

  it('fails with one clear line for a name that does not resolve', async () => {
    await expect(UdpTransport.open([{ host: 'no-such-host.invalid', port: 2055 }])).rejects.toThrow(
      /cannot resolve collector "no-such-host.invalid"/,
    );
  });
});
