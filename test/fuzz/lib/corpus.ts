/**
 * Seeds for the fuzzers, all real: the bundled captures (as files, and as the frames libpcap reads from them, per
 * link type), and export datagrams that softflowd and flowprobe's own encoders send.
 */
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFile } from '../../../src/capture/file.js';
import { BATCH_HEADER, OFF_CAPLEN, OFF_WIRELEN } from '../../../src/capture/batch.js';
import { parseProbeArgs } from '../../../src/probe/options.js';
import { runFileJob } from '../../../src/probe/file-job.js';
import { IpfixEncoder } from '../../../src/wire/ipfix.js';
import { V5Encoder } from '../../../src/wire/v5.js';
import { V9Encoder } from '../../../src/wire/v9.js';
import { be16, be32, cat, ipv4, ipv6, tcp, udp, type Bytes } from '../../decode/frames.js';
import { BOOT_MS, sampleRecords } from '../../wire/fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PCAP_DIR = path.resolve(here, '../../../pcaps');

/** The bundled captures, by name; `maxBytes` leaves out the big ones (mutating megabytes buys nothing). */
export function bundledCaptures(maxBytes = Infinity): string[] {
  return fs
    .readdirSync(PCAP_DIR)
    .filter((n) => /\.pcap(ng)?$/.test(n))
    .filter((n) => fs.statSync(path.join(PCAP_DIR, n)).size <= maxBytes)
    .sort()
    .map((n) => path.join(PCAP_DIR, n));
}

export interface Frame {
  file: string;
  linkType: number;
  wirelen: number;
  bytes: Uint8Array;
}

/** Up to `perFile` packets of every bundled capture, as libpcap hands them over (read up to any error). */
export function realFrames(perFile = 48): Frame[] {
  const out: Frame[] = [];
  for (const file of bundledCaptures()) {
    let src;
    try {
      src = openFile(file);
    } catch {
      continue;
    }
    try {
      let got = 0;
      while (got < perFile) {
        let n: number;
        try {
          n = src.next();
        } catch {
          break;
        }
        if (n < 0) break;
        let off = 0;
        for (let i = 0; i < n && got < perFile; i++, got++) {
          const caplen = src.u32[(off + OFF_CAPLEN) >>> 2]!;
          const wirelen = src.u32[(off + OFF_WIRELEN) >>> 2]!;
          out.push({ file: path.basename(file), linkType: src.linkType, wirelen, bytes: src.buf.slice(off + BATCH_HEADER, off + BATCH_HEADER + caplen) });
          off += BATCH_HEADER + ((caplen + 3) & ~3);
        }
      }
    } finally {
      src.close();
    }
  }
  return out;
}

/**
 * A UDP socket on 127.0.0.1 that keeps what one exporter sends: the source of the first datagram. Others (a stray
 * from another test on this shared machine, sent to a port that used to be its own) are only counted.
 */
export async function udpSink(): Promise<{ port: number; datagrams: Buffer[]; strays: () => number; close(): Promise<void> }> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const datagrams: Buffer[] = [];
  let from = '';
  let strays = 0;
  s.on('message', (m, rinfo) => {
    const src = `${rinfo.address}:${rinfo.port}`;
    if (from === '') from = src;
    if (src === from) datagrams.push(m);
    else strays++;
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return {
    port: s.address().port,
    datagrams,
    strays: () => strays,
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}

export interface Export {
  /** What sent it: "softflowd -v 9 -T full pcaps/x.pcap", "flowprobe v10 {...}". */
  origin: string;
  version: 5 | 9 | 10;
  /** One exporter's datagrams, in the order sent. */
  datagrams: Uint8Array[];
}

/** softflowd -r FILE into a socket of ours (loopback only); resolves with the datagrams it sent. */
export async function softflowdExport(file: string, version: 5 | 9 | 10, extra: string[] = []): Promise<Export> {
  const sink = await udpSink();
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        'softflowd',
        ['-r', file, '-n', `127.0.0.1:${sink.port}`, '-v', String(version), '-c', 'none', '-d', ...extra],
        { timeout: 30_000 },
        // softflowd exits 1 on captures it cannot read; what it sent before that is still a real export.
        (err) => (err && (err as { killed?: boolean }).killed ? reject(err) : resolve()),
      );
    });
    // Loopback delivery is immediate, but the datagrams reach our handler on a later turn of the event loop.
    for (let i = 0; i < 20 && sink.datagrams.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    return {
      origin: `softflowd -v ${version} ${extra.join(' ')} ${path.basename(file)}`.replace(/ +/g, ' '),
      version,
      datagrams: sink.datagrams.map((d) => Uint8Array.from(d)),
    };
  } finally {
    await sink.close();
  }
}

/** A spread of softflowd exports: several captures, every version, and the template variants softflowd has. */
export async function softflowdExports(): Promise<Export[]> {
  const p = (n: string): string => path.join(PCAP_DIR, n);
  const jobs: [string, 5 | 9 | 10, string[]][] = [
    [p('pcapplusplus-example2.pcap'), 9, []],
    [p('ipfixprobe-mixed.pcap'), 10, []],
    [p('ipfixprobe-mixed.pcap'), 5, []],
    [p('tcpdump-icmpv6.pcap'), 10, ['-A', 'milli']],
    [p('zeek-http-vlan-0.pcap'), 9, ['-T', 'vlan']],
    [p('zeek-mixed-vlan-mpls.pcap'), 10, ['-T', 'ether']],
    [p('tcpdump-mpls-traceroute.pcap'), 9, []],
    [p('zeek-ipv6-fragmented-dns.pcap'), 10, ['-b']],
    [p('tcpdump-dns_tcp.pcap'), 5, []],
  ];
  const out = await Promise.all(jobs.map(([f, v, x]) => softflowdExport(f, v, x)));
  return out.filter((e) => e.datagrams.length > 0);
}

/**
 * Hand-built frames for the link types no bundled capture has (Cisco HDLC, PPP in HDLC framing, LOOP, PPPoE
 * session, ATM RFC 1483, PFLOG, NFLOG, 802.11 bare and behind Prism, radiotap, AVS and PPI headers, PKTAP), so the
 * mutations start from packets that decode all the way; each is checked to decode OK in decode.test.ts.
 */
export function builtFrames(): Frame[] {
  const ip4 = ipv4({ proto: 6, payload: tcp(1234, 80, 0x12) });
  const ip6 = ipv6({ nh: 17, payload: udp(53, 5353) });
  // IEEE 802.11 data frames (To DS; From DS with QoS and HT Control), LLC/SNAP inside.
  const addrs = new Array(18).fill(0).map((_, i) => i);
  const wlanData = cat([0x08, 0x01, 0, 0], addrs, [0, 0], [0xaa, 0xaa, 3, 0, 0, 0, 8, 0], ip4);
  const wlanQos = cat([0x88, 0x82, 0, 0], addrs, [0, 0], [0, 0], [0, 0, 0, 0], [0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd], ip6);
  const built: [number, Bytes][] = [
    [104, cat([0x0f, 0], be16(0x0800), ip4)],
    [104, cat([0x8f, 0], be16(0x86dd), ip6)],
    [108, cat(be32(2), ip4)],
    [108, cat(be32(24), ip6)],
    [50, cat([0xff, 0x03], be16(0x0021), ip4)],
    [51, cat([0x11, 0, 0, 1], be16(2 + ip4.length), be16(0x0021), ip4)],
    [100, cat([0xaa, 0xaa, 3, 0, 0, 0, 8, 0], ip4)],
    [11, cat([0xaa, 0xaa, 3, 0, 0, 0, 8, 0], ip4)],
    [100, cat([0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd], ip6)],
    [117, cat([61, 2], new Array(62).fill(0), ip4)],
    [117, cat([61, 24], new Array(62).fill(0), ip6)],
    [239, cat([2, 0, 0, 0], [8, 0, 1, 0, 0x08, 0x00, 0, 0], [4 + ip4.length, 0, 9, 0], ip4)],
    [239, cat([10, 0, 0, 0], [8, 0, 1, 0, 0x86, 0xdd, 0, 0], [4 + ip6.length, 0, 9, 0], ip6)],
    [105, wlanData],
    [105, wlanQos],
    [119, cat(new Array(144).fill(0), wlanData)],
    [127, cat([0, 0, 8, 0, 0, 0, 0, 0], wlanQos)],
    [127, cat([0, 0, 9, 0, 2, 0, 0, 0, 0x10], wlanData, [1, 2, 3, 4])],
    [163, cat(be32(0x80211001), be32(16), new Array(8).fill(0), wlanQos)],
    [192, cat([0, 0, 8, 0, 105, 0, 0, 0], wlanData)],
    [192, cat([0, 0, 8, 0, 1, 0, 0, 0], new Array(12).fill(2), be16(0x86dd), ip6)],
    [258, cat([108, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], new Array(96).fill(0), new Array(12).fill(2), be16(0x0800), ip4)],
  ];
  return built.map(([linkType, b]) => ({ file: `built:${linkType}`, linkType, wirelen: b.length, bytes: Uint8Array.from(b) }));
}

/**
 * flowprobe's own exports: the encoders of src/wire over the wire tests' sample records in every template layout,
 * and the flowprobe pcap job over bundled captures into a socket of ours.
 */
export async function flowprobeExports(): Promise<Export[]> {
  const out: Export[] = [];
  const recs = sampleRecords();
  const boot = BOOT_MS;
  const stream = (origin: string, version: 5 | 9 | 10, enc: V5Encoder | V9Encoder | IpfixEncoder): void => {
    const datagrams: Uint8Array[] = [];
    for (let m = 0; m < 4; m++) {
      enc.beginMessage(boot + 1000 * (m + 1), boot);
      if (!(enc instanceof V5Encoder) && m % 2 === 0) enc.addTemplates();
      for (const r of recs) if (!enc.addRecord(r)) break;
      datagrams.push(Uint8Array.from(enc.finish()));
    }
    out.push({ origin, version, datagrams });
  };
  stream('flowprobe encoder v5', 5, new V5Encoder());
  stream('flowprobe encoder v1', 5, new V5Encoder({ version: 1 }));
  stream('flowprobe encoder v9', 9, new V9Encoder());
  stream('flowprobe encoder v9 mac mpls3 sampled', 9, new V9Encoder({ mac: true, mplsLabels: 3, samplingInterval: 10 }));
  stream('flowprobe encoder v9 sec', 9, new V9Encoder({ time: 'sec', vlan: true }));
  stream('flowprobe encoder ipfix', 10, new IpfixEncoder());
  stream('flowprobe encoder ipfix biflow uptime', 10, new IpfixEncoder({ biflow: true, time: 'uptime' }));
  stream('flowprobe encoder ipfix nano mac mpls10', 10, new IpfixEncoder({ time: 'nano', mac: true, mplsLabels: 10 }));
  stream('flowprobe encoder ipfix micro sampled', 10, new IpfixEncoder({ time: 'micro', samplingInterval: 100 }));
  for (const [file, args] of [
    ['ipfixprobe-mixed.pcap', ['-v', '9']],
    ['ipfixprobe-mixed.pcap', ['-v', '10', '-b']],
    ['zeek-mixed-vlan-mpls.pcap', ['-v', '10', '-T', 'ether', '-x', '3']],
    ['tcpdump-icmpv6.pcap', ['-v', '5']],
  ] as const) {
    const sink = await udpSink();
    try {
      const cfg = parseProbeArgs(['-r', path.join(PCAP_DIR, file), '-n', `127.0.0.1:${sink.port}`, '--no-progress', ...args]);
      await runFileJob(cfg, () => undefined);
      for (let i = 0; i < 20 && sink.datagrams.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 20));
      out.push({ origin: `flowprobe ${args.join(' ')} ${file}`, version: Number(args[1]) as 5 | 9 | 10, datagrams: sink.datagrams.map((d) => Uint8Array.from(d)) });
    } finally {
      await sink.close();
    }
  }
  return out.filter((e) => e.datagrams.length > 0);
}

/** Every seed export: softflowd's and flowprobe's. */
export async function allExports(): Promise<Export[]> {
  return [...(await softflowdExports()), ...(await flowprobeExports())];
}
