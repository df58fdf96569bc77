/**
 * Export on a second thread (src/export/thread.ts): what reaches a collector must be byte for byte what the
 * exporter sends on the probe's own thread, whatever the records hold and however far the ring wraps; the counters
 * must end the same; set-up errors must come back as one line.
 */
import { describe, it, expect } from 'vitest';
import dgram from 'node:dgram';
import { ExportThread } from '../../src/export/thread.js';
import { FlowExporter, type Exporter, type ExporterOptions } from '../../src/export/exporter.js';
import { UdpTransport, type Transport } from '../../src/export/transport.js';
import { RING_WORDS, newRingBuffer, readRecord, ringViews, writeRecord } from '../../src/export/ring.js';
import { FlowRecord } from '../../src/wire/record.js';
import { rng } from '../flow/helpers.js';

function listen(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    sock.bind(0, '127.0.0.1', () => resolve({ sock, port: sock.address().port, got }));
  });
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** A record with every field the generator is told to fill, from a seeded stream. */
function randomRecord(rand: () => number, r: FlowRecord, kinds: { v6?: boolean; l2?: boolean; mpls?: boolean; rev?: boolean; route?: boolean; big?: boolean }): void {
  const u32 = (): number => Math.floor(rand() * 2 ** 32);
  r.clear();
  r.ipVersion = kinds.v6 && rand() < 0.5 ? 6 : 4;
  const words = r.ipVersion === 6 ? 4 : 1;
  for (let i = 0; i < words; i++) {
    r.src[i] = u32();
    r.dst[i] = u32();
  }
  r.protocol = [6, 17, 1, 58, 47][Math.floor(rand() * 5)]!;
  r.srcPort = Math.floor(rand() * 65536);
  r.dstPort = Math.floor(rand() * 65536);
  r.tcpFlags = Math.floor(rand() * 256);
  r.tos = Math.floor(rand() * 256);
  r.packets = kinds.big && rand() < 0.3 ? 2 ** 32 + Math.floor(rand() * 1000) : Math.floor(rand() * 100_000);
  r.octets = kinds.big && rand() < 0.3 ? 2 ** 40 + u32() : u32();
  r.startSec = 1_700_000_000 + Math.floor(rand() * 1000);
  r.startNsec = Math.floor(rand() * 1e9);
  r.endSec = r.startSec + Math.floor(rand() * 100);
  r.endNsec = Math.floor(rand() * 1e9);
  r.endReason = 1 + Math.floor(rand() * 5);
  r.direction = rand() < 0.5 ? 0 : 1;
  if (kinds.l2) {
    r.vlan = Math.floor(rand() * 4096);
    r.srcMacHi = Math.floor(rand() * 65536);
    r.srcMacLo = u32();
    r.dstMacHi = Math.floor(rand() * 65536);
    r.dstMacLo = u32();
    r.flowLabel = Math.floor(rand() * 2 ** 20);
  }
  if (kinds.mpls) {
    r.mplsDepth = Math.floor(rand() * 11);
    for (let i = 0; i < r.mplsDepth; i++) r.mpls[i] = u32();
  }
  if (kinds.rev) {
    r.revPackets = Math.floor(rand() * 1000);
    r.revOctets = u32();
    r.revTcpFlags = Math.floor(rand() * 256);
    r.revTos = Math.floor(rand() * 256);
  }
  if (kinds.route) {
    r.nextHop[0] = u32();
    r.inputIf = Math.floor(rand() * 65536);
    r.outputIf = Math.floor(rand() * 65536);
    r.srcAs = u32();
    r.dstAs = u32();
    r.srcMask = Math.floor(rand() * 33);
    r.dstMask = Math.floor(rand() * 33);
  }
}

/** Feeds the same records, clocks, flushes and template requests to an exporter. */
function feed(e: Exporter, n: number, seed: number, kinds: Parameters<typeof randomRecord>[2]): void {
  const rand = rng(seed);
  const r = new FlowRecord();
  let now = 1_700_000_100_000;
  e.setClock(now, 1_699_999_999_000);
  for (let i = 0; i < n; i++) {
    randomRecord(rand, r, kinds);
    e.onFlow(r);
    if (i % 97 === 0) e.flush();
    if (i % 1000 === 999) e.setClock((now += 1000), 1_699_999_999_000);
    if (i % 5000 === 4999) e.sendTemplates();
  }
  e.flush();
}

async function both(opts: ExporterOptions, n: number, seed: number, kinds: Parameters<typeof randomRecord>[2]): Promise<void> {
  const a = await listen();
  const b = await listen();
  const onError = (m: string): void => {
    throw new Error(m);
  };
  const inline = await UdpTransport.open([{ host: '127.0.0.1', port: a.port }], { rate: 0, onError });
  const inlineExporter = new FlowExporter(inline, opts);
  const thread = await ExportThread.open([{ host: '127.0.0.1', port: b.port }], { rate: 0, onError }, opts);
  feed(inlineExporter, n, seed, kinds);
  feed(thread.exporter, n, seed, kinds);
  await inline.close();
  await thread.transport.close();
  await until(() => a.got.length === inline.stats.datagrams && b.got.length === thread.transport.stats.datagrams);
  a.sock.close();
  b.sock.close();
  expect(thread.exporter.stats).toEqual({ ...inlineExporter.stats });
  expect(thread.transport.stats.datagrams).toBe(inline.stats.datagrams);
  expect(b.got.length).toBe(a.got.length);
  expect(b.got.length).toBeGreaterThan(0);
  for (let i = 0; i < a.got.length; i++) expect(b.got[i]!.equals(a.got[i]!), `datagram ${i}`).toBe(true);
}

describe('export on a second thread', () => {
  it('sends NetFlow v9 byte for byte as the exporter on the probe thread does', { timeout: 30_000 }, async () => {
    await both({ version: 9, meteringProcessId: 7 }, 5000, 1, { v6: true });
  });

  it('sends IPFIX with MAC, VLAN, MPLS and biflow fields byte for byte too', { timeout: 30_000 }, async () => {
    await both(
      { version: 10, time: 'nano', vlan: true, mac: true, mplsLabels: 10, biflow: true, meteringProcessId: 7 },
      5000,
      2,
      { v6: true, l2: true, mpls: true, rev: true },
    );
  });

  it('keeps going when the ring wraps several times (more records than it holds at once)', { timeout: 60_000 }, async () => {
    // About 16 words per IPv4 record: 200,000 records are three rings' worth.
    await both({ version: 5 }, 200_000, 3, {});
  });

  it('fails to start with the transport\'s or the exporter\'s one line', async () => {
    await expect(ExportThread.open([{ host: 'no-such-host.invalid', port: 2055 }], {}, { version: 9 })).rejects.toThrow(
      /cannot resolve collector "no-such-host.invalid"/,
    );
    await expect(ExportThread.open([{ host: '127.0.0.1', port: 2055 }], {}, { version: 9, biflow: true })).rejects.toThrow(/biflow/);
  });

  it('reports what is still waiting for pacing, and has sent it all once drained', { timeout: 30_000 }, async () => {
    const a = await listen();
    const thread = await ExportThread.open([{ host: '127.0.0.1', port: a.port }], { rate: 2000 }, { version: 9 });
    const t: Transport = thread.transport;
    feed(thread.exporter, 3000, 4, {});
    // 3,000 records in ~100 datagrams at 2,000/s: some wait.
    await until(() => t.pending > 0, 2000);
    expect(t.pending).toBeGreaterThan(0);
    await t.drained();
    expect(t.pending).toBe(0);
    await until(() => a.got.length === t.stats.datagrams);
    expect(a.got.length).toBe(thread.exporter.stats.datagrams);
    await t.close();
    a.sock.close();
  });
});

describe('an export thread with nothing to do', () => {
  it('sleeps, and still sends the first records after a quiet spell at once', { timeout: 30_000 }, async () => {
    const a = await listen();
    const thread = await ExportThread.open([{ host: '127.0.0.1', port: a.port }], { rate: 0 }, { version: 9 });
    feed(thread.exporter, 10, 5, {});
    await until(() => a.got.length > 0);
    expect(a.got.length).toBeGreaterThan(0);
    // Long enough for the thread to go idle (20 empty looks 5 ms apart); its idle sleep is bounded at 1 s, so a
    // datagram within 200 ms of the flush means the flush woke it.
    await new Promise((r) => setTimeout(r, 400));
    for (let round = 0; round < 3; round++) {
      const before = a.got.length;
      const t0 = Date.now();
      feed(thread.exporter, 10, 6 + round, {});
      await until(() => a.got.length > before, 5000);
      expect(a.got.length).toBeGreaterThan(before);
      expect(Date.now() - t0).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 300));
    }
    await thread.transport.close();
    a.sock.close();
  });

  it('uses no CPU while the probe reads an idle pipe (-r -)', { timeout: 60_000 }, async () => {
    const { spawn } = await import('node:child_process');
    const fs = await import('node:fs');
    const { FLOWPROBE } = await import('../helpers/probe-process.js');
    const a = await listen();
    const child = spawn(process.execPath, [FLOWPROBE, '-r', '-', '-n', `127.0.0.1:${a.port}`, '-v', '9', '--no-progress'], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { ...process.env, FLOWPROBE_EXPORT_THREAD: '1' },
    });
    try {
      child.stdin!.write(fs.readFileSync(new URL('../../pcaps/pcapplusplus-example2.pcap', import.meta.url)));
      const ticks = (): number => {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const w = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return Number(w[11]) + Number(w[12]);
      };
      // Start-up (from the sources the thread compiles its own copy through tsx) is over when a half second
      // passes without CPU time; a thread looking for work every 5 ms never lets that happen.
      let last = ticks();
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const now = ticks();
        if (now === last) break;
        last = now;
      }
      const t0 = ticks();
      await new Promise((r) => setTimeout(r, 3000));
      // Clock ticks are 10 ms: looking for work every 5 ms took 4 to 7 of them in 2 s.
      expect(ticks() - t0).toBeLessThanOrEqual(2);
    } finally {
      child.stdin!.end();
      await new Promise((r) => child.once('close', r));
      a.sock.close();
    }
    // The probe read the capture and exported it once the pipe closed.
    expect(a.got.length).toBeGreaterThan(0);
  });
});

describe('the ring\'s record messages', () => {
  it('carry every field of every kind of record, large counters included, across the ring\'s end', () => {
    const { ring } = ringViews(newRingBuffer());
    const rand = rng(9);
    const a = new FlowRecord();
    const b = new FlowRecord();
    let w = RING_WORDS - 40;
    for (let i = 0; i < 2000; i++) {
      randomRecord(rand, a, { v6: true, l2: true, mpls: true, rev: true, route: true, big: true });
      if (i % 7 === 0) {
        a.exporterVersion = 4;
        a.exporter[0] = 0x0a000001;
      }
      const start = w;
      w = writeRecord(ring, w, a);
      b.clear();
      b.mpls.fill(0xdead);
      readRecord(ring, start + 1, b);
      expect(b).toEqual(a);
    }
  });
});

describe('the pcap job with its export thread', () => {
  it.each(['ipfixprobe-mixed.pcap', 'pcapplusplus-MplsPackets.pcap', 'zeek-http-vlan-0.pcap'])(
    '%s: the same datagrams as with the export on the probe thread',
    { timeout: 30_000 },
    async (name) => {
      const { parseProbeArgs } = await import('../../src/probe/options.js');
      const { runFileJob } = await import('../../src/probe/file-job.js');
      const file = new URL(`../../pcaps/${name}`, import.meta.url).pathname;
      const run = async (thread: '0' | '1'): Promise<Buffer[]> => {
        const l = await listen();
        const saved = process.env.FLOWPROBE_EXPORT_THREAD;
        process.env.FLOWPROBE_EXPORT_THREAD = thread;
        try {
          const cfg = parseProbeArgs(['-r', file, '-n', `127.0.0.1:${l.port}`, '-v', '10', '-T', 'ether', '-x', '3', '--no-progress', '--export-rate', '0']);
          const r = await runFileJob(cfg, () => undefined);
          expect(r.error).toBeNull();
          await until(() => l.got.length === r.probe.exporter!.stats.datagrams);
          return l.got;
        } finally {
          if (saved === undefined) delete process.env.FLOWPROBE_EXPORT_THREAD;
          else process.env.FLOWPROBE_EXPORT_THREAD = saved;
          l.sock.close();
        }
      };
      const inline = await run('0');
      const threaded = await run('1');
      expect(inline.length).toBeGreaterThan(0);
      expect(threaded.map((d) => d.toString('hex'))).toEqual(inline.map((d) => d.toString('hex')));
    },
  );
});
