/**
 * The addon reads pcapng itself (native/src/pcapng.cc), any mix of link types, a batch per link type. Each bundled
 * pcapng is read both ways, ours and libpcap's, and checked against tshark; mergecap's mix of several captures of
 * different link types must read as the captures do one by one, packets and flows; damaged files end in one line
 * naming the fault and its file offset, after every packet before it.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFile, type FileOptions } from '../../src/capture/file.js';
import { readCapture } from '../helpers/capture-read.js';
import { sharedDir } from '../helpers/shared.js';
import { FLOWPROBE } from '../helpers/probe-process.js';

const PCAPS = path.resolve(__dirname, '../../pcaps');
const SHARED = path.join(sharedDir(), 'pcaps');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-pcapng-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One packet as read: time, lengths, the batch's link type and a digest of the bytes. */
type Pkt = string;

interface Read {
  pkts: Pkt[];
  /** The error that ended the reading (opening included), or null at a clean end. */
  error: string | null;
}

function pkt(sec: number, nsec: number, caplen: number, wirelen: number, link: number, bytes: Uint8Array): Pkt {
  return `${sec}.${String(nsec).padStart(9, '0')} cap ${caplen} len ${wirelen} link ${link} ${createHash('sha1').update(bytes).digest('hex')}`;
}

function read(file: string, opts: FileOptions = {}): Read {
  const r = readCapture(file, (p) => pkt(p.sec, p.nsec, p.caplen, p.wirelen, p.linkType, p.data), opts);
  return { pkts: r.packets, error: r.error };
}

/** Wireshark's encapsulation numbers (frame.encap_type) of the bundled pcapng files, as libpcap's DLT. */
const WTAP_TO_DLT = new Map([
  [1, 1], // Ethernet
  [15, 0], // NULL/Loopback
]);

/** The file's packets as tshark sees them (its "frames" without an interface are custom blocks, not packets). */
function tsharkPackets(file: string): Pkt[] {
  const tshark = (args: string[]): string =>
    execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
  const fields = tshark(['-T', 'fields', '-e', 'frame.interface_id', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.encap_type'])
    .split('\n')
    .filter((l) => l !== '');
  const frames = JSON.parse(tshark(['-T', 'json', '-x'])) as { _source: { layers: { frame_raw: [string, ...unknown[]] } } }[];
  expect(frames.length).toBe(fields.length);
  const out: Pkt[] = [];
  fields.forEach((line, i) => {
    const [ifid, epoch, cap, len, encap] = line.split('\t') as [string, string, string, string, string];
    if (ifid === '') return;
    const link = WTAP_TO_DLT.get(Number(encap));
    if (link === undefined) throw new Error(`${file}: tshark's encapsulation ${encap} is not in WTAP_TO_DLT`);
    const [sec, frac] = epoch === '' ? ['0', '0'] : (epoch.split('.') as [string, string]);
    out.push(pkt(Number(sec), Number(frac.padEnd(9, '0')), Number(cap), Number(len), link, Buffer.from(frames[i]!._source.layers.frame_raw[0], 'hex')));
  });
  return out;
}

const pcapngs = [
  ...fs.readdirSync(PCAPS).filter((f) => f.endsWith('.pcapng')).map((f) => path.join(PCAPS, f)),
  ...fs.readdirSync(SHARED).filter((f) => f.endsWith('.pcapng')).map((f) => path.join(SHARED, f)),
];

describe('our pcapng reader reads what libpcap and tshark read', () => {
  it('has files to read', () => expect(pcapngs.length).toBeGreaterThanOrEqual(6));

  it.each(pcapngs.map((f) => [path.relative(path.resolve(PCAPS, '..'), f), f]))('%s', (_name, file) => {
    const ours = read(file);
    expect(ours.error).toBeNull();
    expect(ours.pkts.length).toBeGreaterThan(0);
    const libpcap = read(file, { libpcap: true });
    if (libpcap.error === null) {
      expect(ours.pkts).toEqual(libpcap.pkts);
    } else {
      // libpcap 1.10 reads one link type and one snapshot length per file: it stops at the first interface that
      // differs, and what it read up to there must be ours.
      expect(libpcap.error).toMatch(/different from the (type|snapshot length) of the first interface/);
      expect(ours.pkts.slice(0, libpcap.pkts.length)).toEqual(libpcap.pkts);
    }
    expect(ours.pkts).toEqual(tsharkPackets(file));
    // Batches ending every few packets change nothing.
    expect(read(file, { batchBytes: 4096, batchPackets: 3 })).toEqual(ours);
  });
});

/**
 * `flowprobe --print-packets` on a file, on a pipe into standard input, or on the file as standard input: its lines
 * and its error line (without the file's name, which is "-" on standard input).
 */
function printed(file: string, how: 'file' | 'pipe' | 'stdin-file'): { lines: string[]; error: string | null } {
  const args = [FLOWPROBE, '-r', how === 'file' ? file : '-', '--print-packets'];
  const fd = how === 'stdin-file' ? fs.openSync(file, 'r') : undefined;
  try {
    const r = spawnSync(process.execPath, args, {
      input: how === 'pipe' ? fs.readFileSync(file) : undefined,
      stdio: [fd ?? 'pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    const err = r.stderr.trim();
    return { lines: r.stdout.split('\n').filter((l) => l !== ''), error: err === '' ? null : err.replace(/^flowprobe: (-|\S+): /, '') };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Captures of six link types: Ethernet, SLL2, raw IPv4 (228), SLL with ns stamps, NULL, LINKTYPE_RAW (DLT 12). */
const INPUTS = [
  'pcapplusplus-example2.pcap',
  'pcapplusplus-sll2.pcap',
  'tcpdump-LINKTYPE_IPV4.pcap',
  'tcpdump-tcp-handshake-nano.pcap',
  'pcapplusplus-null_loopback.pcap',
  'pcapplusplus-raw_ip.pcap',
].map((f) => path.join(PCAPS, f));

function mergecap(out: string, inputs: string[]): string {
  const file = path.join(tmp, out);
  execFileSync('mergecap', ['-F', 'pcapng', '-w', file, ...inputs], { stdio: ['ignore', 'ignore', 'pipe'] });
  return file;
}

describe('a pcapng whose interfaces have different link types', () => {
  const mixed = mergecap('mixed.pcapng', INPUTS);

  it('is what libpcap refuses', () => {
    expect(read(mixed, { libpcap: true }).error).toMatch(/different from the type of the first interface/);
  });

  it('reads as its inputs do one by one, each packet with its own link type', () => {
    const got = read(mixed);
    expect(got.error).toBeNull();
    const want = INPUTS.flatMap((f) => {
      const r = read(f);
      expect(r.error).toBeNull();
      return r.pkts;
    });
    expect(new Set(want.map((p) => / link (\d+) /.exec(p)![1])).size).toBe(6);
    // mergecap interleaves the inputs by time; ties may go either way, so compare as sets of packets.
    expect([...got.pkts].sort()).toEqual([...want].sort());
    // A batch ending every few packets (and at every change of link type) gives the same.
    expect(read(mixed, { batchBytes: 2048, batchPackets: 5 })).toEqual(got);
  });

  it('applies a filter compiled for each link type', () => {
    const filter = 'tcp or icmp';
    const got = read(mixed, { filter });
    expect(got.error).toBeNull();
    const want = INPUTS.flatMap((f) => read(f, { filter }).pkts);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(read(mixed).pkts.length);
    expect([...got.pkts].sort()).toEqual([...want].sort());
  });

  it('refuses a filter that one of its link types cannot take, naming the link type', () => {
    const r = read(mixed, { filter: 'ether host 00:11:22:33:44:55' });
    expect(r.pkts).toEqual([]);
    expect(r.error).toMatch(/^bad filter "ether host 00:11:22:33:44:55" for link type \S+ \(\d+\) .*file offset \d+/);
  });

  it('reads the same from standard input, a pipe (dumpcap -w - | flowprobe -r -) or a file, as from the file', () => {
    const want = printed(mixed, 'file');
    expect(want.error).toBeNull();
    expect(want.lines.length).toBe(read(mixed).pkts.length);
    expect(printed(mixed, 'pipe')).toEqual(want);
    expect(printed(mixed, 'stdin-file')).toEqual(want);
    // Anything else on a pipe is still libpcap's, its first bytes given back to it.
    const pcap = path.join(PCAPS, 'zeek-5-pings.pcap');
    expect(printed(pcap, 'pipe')).toEqual(printed(pcap, 'file'));
  });

  it('gives flowprobe -r the flows of its inputs read one by one', () => {
    const flows = (file: string): string[] => {
      const out = execFileSync(process.execPath, [FLOWPROBE, '-r', file], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
      expect(out[0]).toMatch(/^Date first seen/);
      return out.slice(1);
    };
    const got = flows(mixed);
    const want = INPUTS.flatMap(flows);
    expect(want.length).toBeGreaterThan(500);
    expect(got.sort()).toEqual(want.sort());
  });
});

/** A pcapng written field by field, either byte order. */
class Ng {
  private parts: Buffer[] = [];
  constructor(private le = true) {}
  private u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  private u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  block(type: number, body: Buffer): this {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const total = 12 + padded.length;
    this.parts.push(this.u32(type), this.u32(total), padded, this.u32(total));
    return this;
  }
  shb(le = this.le, major = 1): this {
    this.le = le;
    return this.block(0x0a0d0d0a, Buffer.concat([this.u32(0x1a2b3c4d), this.u16(major), this.u16(0), Buffer.alloc(8, 0xff)]));
  }
  idb(linkType: number, snaplen = 0, opts: { tsresol?: number; tsoffset?: bigint } = {}): this {
    const o: Buffer[] = [];
    if (opts.tsresol !== undefined) o.push(this.u16(9), this.u16(1), Buffer.from([opts.tsresol, 0, 0, 0]));
    if (opts.tsoffset !== undefined) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(opts.tsoffset);
      else v.writeBigInt64BE(opts.tsoffset);
      o.push(this.u16(14), this.u16(8), v);
    }
    if (o.length) o.push(this.u16(0), this.u16(0));
    return this.block(1, Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snaplen), ...o]));
  }
  epb(ifid: number, ticks: bigint, data: Buffer, orig = data.length): this {
    return this.block(6, Buffer.concat([this.u32(ifid), this.u32(Number(ticks >> 32n)), this.u32(Number(ticks & 0xffffffffn)), this.u32(data.length), this.u32(orig), data]));
  }
  opb(ifid: number, ticks: bigint, data: Buffer, orig = data.length): this {
    return this.block(2, Buffer.concat([this.u16(ifid), this.u16(0), this.u32(Number(ticks >> 32n)), this.u32(Number(ticks & 0xffffffffn)), this.u32(data.length), this.u32(orig), data]));
  }
  spb(data: Buffer, orig = data.length): this {
    return this.block(3, Buffer.concat([this.u32(orig), data]));
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
  write(name: string): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, this.bytes());
    return file;
  }
}

const data = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
const one = (r: Read, i: number): string[] => r.pkts[i]!.split(' ');

describe('pcapng blocks and options', () => {
  it('turns every if_tsresol and if_tsoffset into seconds and nanoseconds exactly', () => {
    const t = 0x0123_4567_89ab_cdefn;
    const f = new Ng()
      .shb()
      .idb(1, 0, { tsresol: 3 }) // ms
      .idb(1, 0, { tsresol: 12 }) // ps
      .idb(1, 0, { tsresol: 0x80 | 20 }) // 2^-20 s
      .idb(1, 0, { tsresol: 0x80 | 40 }) // 2^-40 s: the fraction times 10^9 needs more than 64 bits
      .idb(1, 0, { tsresol: 9, tsoffset: 1_000_000n }) // ns, a million seconds on
      .idb(1, 0, { tsresol: 0x80 | 100 }) // 2^-100 s: all fraction
      .idb(1, 0, { tsresol: 25 }); // 10^-25 s
    const ticks = [1_700_000_000_123n, t, 1_700_000_000n * 1_048_576n + 524_288n, t, 1_700_000_000_999_999_999n, t, t];
    ticks.forEach((k, i) => f.epb(i, k, data(40, i)));
    const r = read(f.write('tsresol.pcapng'));
    expect(r.error).toBeNull();
    const times = r.pkts.map((p) => p.split(' ')[0]);
    const frac40 = t & ((1n << 40n) - 1n);
    expect(times).toEqual([
      '1700000000.123000000',
      `${(t / 10n ** 12n) & 0xffffffffn}.${String((t % 10n ** 12n) / 1000n).padStart(9, '0')}`,
      '1700000000.500000000',
      `${(t >> 40n) & 0xffffffffn}.${String((frac40 * 10n ** 9n) >> 40n).padStart(9, '0')}`,
      '1701000000.999999999',
      `0.${String((t * 10n ** 9n) >> 100n).padStart(9, '0')}`,
      `0.${String(t / 10n ** 16n).padStart(9, '0')}`,
    ]);
  });

  it('reads simple packet blocks (interface 0, cut to the snapshot length) and obsolete packet blocks', () => {
    const f = new Ng()
      .shb()
      .idb(1, 64)
      .idb(101)
      .spb(data(100), 100) // cut to the snapshot length
      .spb(data(30), 1000) // cut to the block
      .opb(1, 5_000_001n, data(20))
      .block(0x0bad, data(10)) // custom: skipped
      .block(4, data(16)) // name resolution: skipped
      .block(5, data(20)); // interface statistics: skipped
    const r = read(f.write('spb.pcapng'));
    expect(r.error).toBeNull();
    expect(r.pkts.map((p) => p.split(' ').slice(0, 7).join(' '))).toEqual([
      '0.000000000 cap 64 len 100 link 1',
      '0.000000000 cap 32 len 1000 link 1', // the block's data, padding included
      '5.000001000 cap 20 len 20 link 12',
    ]);
    expect(one(r, 0)[7]).toBe(createHash('sha1').update(data(100).subarray(0, 64)).digest('hex'));
  });

  it('starts a new section at each section header: byte order and interfaces anew', () => {
    const f = new Ng().shb(true).idb(1).idb(228).epb(1, 1_000_000n, data(20)).shb(false).idb(276).epb(0, 2_000_000n, data(30)).epb(0, 3_000_000n, data(40));
    const r = read(f.write('sections.pcapng'));
    expect(r.error).toBeNull();
    expect(r.pkts.map((p) => p.split(' ').slice(0, 7).join(' '))).toEqual([
      '1.000000000 cap 20 len 20 link 228',
      '2.000000000 cap 30 len 30 link 276',
      '3.000000000 cap 40 len 40 link 276',
    ]);
    // Interface 1 was the first section's.
    const bad = read(new Ng(false).raw(f.bytes()).epb(1, 4_000_000n, data(10)).write('sections-bad.pcapng'));
    expect(bad.pkts).toEqual(r.pkts);
    expect(bad.error).toBe(`enhanced packet block for interface 1, but the section has 1 at file offset ${f.bytes().length}`);
  });

  it('turns NFLOG\'s TLV headers from a section in the other byte order into this host\'s, as libpcap does', () => {
    // AF_INET, version 0, resource 5; a TLV of 8 bytes (type 1) and one of 5 (type 9, padded to 8).
    const nflog = Buffer.from([2, 0, 0, 5, 0, 8, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0, 5, 0, 9, 0xee, 0, 0, 0]);
    const file = new Ng(false).shb(false).idb(239).epb(0, 1_000_000n, nflog).write('nflog-be.pcapng');
    const r = read(file);
    expect(r.error).toBeNull();
    const host = Buffer.from([2, 0, 0, 5, 8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd, 5, 0, 9, 0, 0xee, 0, 0, 0]);
    expect(one(r, 0)[7]).toBe(createHash('sha1').update(host).digest('hex'));
    expect(r).toEqual(read(file, { libpcap: true }));
  });

  it('reads a file with no packets, and one with no interfaces, as empty', () => {
    expect(read(new Ng().shb().write('shb-only.pcapng'))).toEqual({ pkts: [], error: null });
    expect(read(new Ng().shb().idb(1).write('idb-only.pcapng'))).toEqual({ pkts: [], error: null });
  });
});

/** The offsets of a little-endian pcapng's blocks, and of its packet blocks among them. */
function blocks(b: Buffer): { at: number; type: number; len: number }[] {
  const out = [];
  for (let at = 0; at + 8 <= b.length; ) {
    const len = b.readUInt32LE(at + 4);
    out.push({ at, type: b.readUInt32LE(at), len });
    at += len;
  }
  return out;
}

describe('a damaged pcapng: one line naming the fault and its offset, after every packet before it', () => {
  const mixed = mergecap('for-damage.pcapng', INPUTS);
  const clean = fs.readFileSync(mixed);
  const whole = read(mixed);
  const all = blocks(clean);
  const packetBlocks = all.filter((b) => b.type === 6);
  // A packet block well inside the file, and how many packets come before it.
  const victim = packetBlocks[1000]!;
  const before = 1000;

  function damaged(name: string, change: (b: Buffer) => Buffer): Read {
    const file = path.join(tmp, `${name}.pcapng`);
    fs.writeFileSync(file, change(Buffer.from(clean)));
    return read(file);
  }

  function expectFault(r: Read, message: RegExp, packets: number): void {
    expect(r.error).toMatch(message);
    expect(r.error).not.toContain('\n');
    expect(r.pkts).toEqual(whole.pkts.slice(0, packets));
  }

  const viaPipe = new Set(['cut inside a block', 'a length that is not a multiple of 4', 'a skipped block that runs past the end', 'a section of version 2']);

  it.each([
    ['cut inside a block', (b: Buffer) => b.subarray(0, victim.at + 20), /^truncated enhanced packet block \(type 6, length \d+\) at file offset (\d+)$/],
    ['cut inside a block header', (b: Buffer) => b.subarray(0, victim.at + 5), /^truncated block header \(5 of 8 bytes\) at file offset (\d+)$/],
    ['a length that is not a multiple of 4', (b: Buffer) => (b.writeUInt32LE(victim.len + 2, victim.at + 4), b), /^enhanced packet block \(type 6\) length \d+ \(below 32 or not a multiple of 4\) at file offset (\d+)$/],
    ['a length below the minimum', (b: Buffer) => (b.writeUInt32LE(28, victim.at + 4), b), /^enhanced packet block \(type 6\) length 28 \(below 32 or not a multiple of 4\) at file offset (\d+)$/],
    ['a trailer that differs', (b: Buffer) => (b.writeUInt32LE(victim.len + 4, victim.at + victim.len - 4), b), /^enhanced packet block's trailing length \d+ is not its length \d+ at file offset (\d+)$/],
    ['an interface the section does not have', (b: Buffer) => (b.writeUInt32LE(99, victim.at + 8), b), /^enhanced packet block for interface 99, but the section has 6 at file offset (\d+)$/],
    ['a captured length larger than the block', (b: Buffer) => (b.writeUInt32LE(victim.len - 31, victim.at + 20), b), /^enhanced packet block captured length \d+ is larger than the block's \d+ bytes of data at file offset (\d+)$/],
    ['a skipped block that runs past the end', (b: Buffer) => {
      const nrb = Buffer.alloc(16);
      nrb.writeUInt32LE(4, 0);
      nrb.writeUInt32LE(1 << 24, 4);
      return Buffer.concat([b.subarray(0, victim.at), nrb]);
    }, /^truncated block \(type 4, length 16777216\) at file offset (\d+)$/],
    ['a section of version 2', (b: Buffer) => Buffer.concat([b.subarray(0, victim.at), new Ng().shb(true, 2).bytes()]), /^pcapng version 2\.0 is not supported at file offset (\d+)$/],
    ['a section header with a bad byte-order magic', (b: Buffer) => Buffer.concat([b.subarray(0, victim.at), new Ng().shb().bytes().fill(0x55, 8, 12)]), /^section header block with byte-order magic 0x55555555 at file offset (\d+)$/],
  ] as const)('%s', (name, change, message) => {
    const r = damaged(name.replace(/\W+/g, '-'), change);
    expectFault(r, message, before);
    expect(Number(message.exec(r.error!)![1])).toBe(victim.at);
    // The reader stays stopped: the same error again, nothing more.
    const file = path.join(tmp, `${name.replace(/\W+/g, '-')}.pcapng`);
    const src = openFile(file);
    expect(() => {
      for (let guard = 0; guard < 100_000 && src.next() >= 0; guard++);
    }).toThrow(r.error!);
    expect(() => src.next()).toThrow(r.error!);
    src.close();
    if (viaPipe.has(name)) {
      // Read from a pipe, forward only: the same packets and the same line.
      const piped = printed(file, 'pipe');
      expect(piped.error).toBe(r.error);
      expect(piped.lines).toHaveLength(before);
    }
  });

  it('a block too large to hold from a pipe: read from a file, an error from a pipe', () => {
    const head = new Ng().shb().idb(1).epb(0, 1n, data(60));
    const epb = Buffer.alloc(20 + 60 + (5 << 20)); // a packet of 60 bytes with 5 MiB of (empty) options after it
    epb.writeUInt32LE(0, 0);
    epb.writeUInt32LE(2, 8);
    epb.writeUInt32LE(60, 12);
    epb.writeUInt32LE(60, 16);
    data(60).copy(epb, 20);
    const file = new Ng().raw(head.bytes()).block(6, epb).epb(0, 3n, data(60)).write('big-options.pcapng');
    expect(read(file).pkts).toHaveLength(3);
    expect(printed(file, 'pipe')).toEqual({
      lines: printed(file, 'file').lines.slice(0, 1),
      error: `enhanced packet block of ${epb.length + 12} bytes is larger than flowprobe reads from a pipe (4194304) at file offset ${head.bytes().length}`,
    });
  });

  it('a captured length above 262144, after the packets before it', () => {
    const f = new Ng().shb().idb(1).epb(0, 1n, data(60)).epb(0, 2n, data(262148));
    const r = read(f.write('huge.pcapng'));
    expect(r.pkts).toHaveLength(1);
    expect(r.error).toBe(`enhanced packet block captured length 262148 is above 262144 at file offset ${new Ng().shb().idb(1).epb(0, 1n, data(60)).bytes().length}`);
  });

  it('an interface description whose options do not hold together', () => {
    const le16 = (v: number): number[] => [v & 0xff, v >> 8];
    const idb = (opts: number[]): Buffer => Buffer.from([...le16(1), 0, 0, 0, 0, 1, 0, ...opts]);
    const start = new Ng().shb().idb(1).epb(0, 1n, data(60));
    const at = start.bytes().length;
    const past = read(new Ng().raw(start.bytes()).block(1, idb([...le16(9), ...le16(200), 6, 0, 0, 0])).epb(1, 2n, data(60)).write('opt-past.pcapng'));
    expect(past).toEqual({ pkts: read(start.write('opt-start.pcapng')).pkts, error: `interface description block option (code 9, length 200) runs past the block at file offset ${at}` });
    const end = read(new Ng().raw(start.bytes()).block(1, idb([0, 0, ...le16(4), 0, 0, 0, 0])).write('opt-end.pcapng'));
    expect(end.pkts).toHaveLength(1);
    expect(end.error).toBe(`interface description block's end-of-options option has length 4, not 0 at file offset ${at}`);
  });

  it('a damaged start refuses to open, in one line', () => {
    expect(read(new Ng().shb(true, 2).idb(1).epb(0, 1n, data(60)).write('v2.pcapng'))).toEqual({ pkts: [], error: 'pcapng version 2.0 is not supported at file offset 0' });
    const cut = new Ng().shb().bytes().subarray(0, 20);
    fs.writeFileSync(path.join(tmp, 'cut-shb.pcapng'), cut);
    expect(read(path.join(tmp, 'cut-shb.pcapng'))).toEqual({ pkts: [], error: 'truncated section header block at file offset 0' });
    // Not a section header first: not a pcapng, and libpcap says it does not know the format.
    const noShb = read(new Ng().idb(1).epb(0, 1n, data(60)).write('no-shb.pcapng'));
    expect(noShb.pkts).toEqual([]);
    expect(noShb.error).toMatch(/^[^\n]+$/);
  });
});
