/**
 * Capture files for the reader fuzz: well-formed pcap and pcapng files built field by field (whose packets we know,
 * so the reader can be checked against them), the same with hostile header values (wrong magic, truncated headers,
 * caplen 0 / above the snaplen / huge, no interface description), and mutations of the bundled captures.
 *
 * Formats: pcap as libpcap's savefile.c/sf-pcap.c define it (24-byte file header, 16-byte record headers, either
 * byte order, µs or ns magic); pcapng per draft-ietf-opsawg-pcapng (SHB 0x0A0D0D0A with byte-order magic
 * 0x1A2B3C4D, IDB 1, EPB 6, SPB 3, if_tsresol option 9).
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { bundledCaptures } from './corpus.js';
import { mutate, mutationsArb, rarely, INTERESTING } from './mutate.js';

/** What a well-formed file holds, packet by packet: seconds, nanoseconds, caplen, wire length, bytes. */
export interface ExpectedPacket {
  sec: number;
  nsec: number;
  caplen: number;
  wirelen: number;
  data: Uint8Array;
}

export interface CaptureCase {
  /** How it was made, for failure messages and saved crash files. */
  kind: string;
  bytes: Uint8Array;
  /** Set when the file is well-formed by construction: the reader must deliver exactly these. */
  expect?: ExpectedPacket[];
  /**
   * libpcap rewrites the packet's pseudo-header into host byte order (NFLOG's TLVs, pcap-common.c) when the file
   * was written in the other one: the bytes differ from the file's, by design; only the headers are compared.
   */
  rewritten?: boolean;
}

/** Link types whose headers libpcap swaps when the file's byte order is not the host's (NFLOG). */
const SWAPPED_LINK_TYPES = new Set([239]);
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Growable little/big-endian writer. */
class W {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.le ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    v >>>= 0;
    return this.le ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff);
  }
  bytes(b: Uint8Array | number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  out(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Largest snaplen libpcap 1.10 accepts for most link types (MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;

const linkTypeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 0, 101, 113, 276, 228, 229, 9, 104, 108, 117, 239, 12, 14, 50, 51, 100) },
  { weight: 1, arbitrary: fc.constantFrom(...INTERESTING, 0x10000001, 147, 65535) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
);

const packetDataArb = fc.uint8Array({ minLength: 0, maxLength: 200 });

interface PktSpec {
  sec: number;
  frac: number;
  data: Uint8Array;
  /** Extra wire length beyond the captured bytes. */
  extra: number;
}

const pktArb: fc.Arbitrary<PktSpec> = fc.record({
  sec: fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer({ min: 1_600_000_000, max: 1_800_000_000 })),
  frac: fc.nat({ max: 999_999_999 }),
  data: packetDataArb,
  extra: fc.oneof(fc.constant(0), fc.nat({ max: 1500 })),
});

/** A well-formed classic pcap file; `le`/`nano` pick the header flavour. */
function pcapFile(le: boolean, nano: boolean, snaplen: number, linkType: number, pkts: PktSpec[]): CaptureCase {
  const w = new W(le).u32(nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linkType);
  const expect: ExpectedPacket[] = [];
  for (const p of pkts) {
    const data = p.data.subarray(0, Math.min(p.data.length, snaplen));
    const frac = nano ? p.frac : p.frac % 1_000_000;
    const wirelen = data.length + p.extra;
    w.u32(p.sec).u32(frac).u32(data.length).u32(wirelen).bytes(data);
    expect.push({ sec: p.sec, nsec: nano ? frac : frac * 1000, caplen: data.length, wirelen, data });
  }
  const rewritten = le !== HOST_LE && SWAPPED_LINK_TYPES.has(linkType);
  return { kind: `pcap ${le ? 'LE' : 'BE'} ${nano ? 'ns' : 'us'} link ${linkType} snaplen ${snaplen}`, bytes: w.out(), expect, rewritten };
}

export const wellFormedPcapArb: fc.Arbitrary<CaptureCase> = fc
  .record({
    le: fc.boolean(),
    nano: fc.boolean(),
    snaplen: fc.oneof(fc.constantFrom(65535, MAX_SNAPLEN, 96), fc.integer({ min: 200, max: MAX_SNAPLEN })),
    linkType: fc.constantFrom(1, 0, 101, 113, 276, 228, 229, 9, 104, 108, 117, 239),
    pkts: fc.array(pktArb, { maxLength: 12 }),
  })
  .map(({ le, nano, snaplen, linkType, pkts }) => pcapFile(le, nano, snaplen, linkType, pkts));

/** The pcap header fields a hostile file may set to anything, and record headers that lie about their sizes. */
export const hostilePcapArb: fc.Arbitrary<CaptureCase> = fc
  .record({
    le: fc.boolean(),
    magic: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(PCAP_MAGIC_US, PCAP_MAGIC_NS) },
      // pcapng's, modified pcap (0xa1b2cd34), swapped, and anything.
      { weight: 1, arbitrary: fc.constantFrom(0x0a0d0d0a, 0xa1b2cd34, 0xd4c3b2a1, 0, 0xffffffff) },
      { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
    ),
    major: fc.oneof({ weight: 4, arbitrary: fc.constant(2) }, fc.constantFrom(0, 1, 3, 543, 0xffff)),
    minor: fc.oneof({ weight: 4, arbitrary: fc.constant(4) }, fc.constantFrom(0, 1, 2, 3, 5, 0xffff)),
    snaplen: fc.oneof(fc.constantFrom(0, 1, 14, 65535, MAX_SNAPLEN, MAX_SNAPLEN + 1, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff })),
    linkType: linkTypeArb,
    records: fc.array(
      fc.record({
        sec: fc.nat({ max: 0xffffffff }),
        frac: fc.oneof(fc.nat({ max: 999_999 }), fc.constantFrom(1_000_000, 999_999_999, 1_000_000_000, 0xffffffff)),
        data: packetDataArb,
        // caplen: the real length, 0, the snaplen and just past it, libpcap's maximum and past it, huge.
        caplen: fc.oneof(
          { weight: 4, arbitrary: fc.constant(-1) },
          { weight: 2, arbitrary: fc.constantFrom(0, 1, 65535, 65536, MAX_SNAPLEN, MAX_SNAPLEN + 1, 0x7fffffff, 0xfffffff0, 0xffffffff) },
          { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
        ),
        wirelen: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.constantFrom(0, 1, 0xffffffff), fc.nat({ max: 0xffffffff })),
      }),
      { maxLength: 8 },
    ),
    // Cut the file: inside the file header, inside a record header, or inside packet data.
    cut: rarely(fc.nat({ max: 4000 }), 3),
  })
  .map((s) => {
    const w = new W(s.le).u32(s.magic).u16(s.major).u16(s.minor).u32(0).u32(0).u32(s.snaplen).u32(s.linkType);
    for (const r of s.records) {
      w.u32(r.sec).u32(r.frac).u32(r.caplen < 0 ? r.data.length : r.caplen).u32(r.wirelen < 0 ? r.data.length : r.wirelen).bytes(r.data);
    }
    let bytes = w.out();
    if (s.cut !== null) bytes = bytes.slice(0, s.cut % (bytes.length + 1));
    return { kind: `hostile pcap magic ${s.magic.toString(16)} snaplen ${s.snaplen} link ${s.linkType}`, bytes };
  });

// ---- pcapng ----

const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const IDB = 1;
const SPB = 3;
const EPB = 6;
const OPT_IF_TSRESOL = 9;

function block(w: W, type: number, body: (b: W) => void, le: boolean): void {
  const b = new W(le);
  body(b);
  b.pad4();
  const total = 12 + b.length;
  w.u32(type).u32(total).bytes(b.out()).u32(total);
}

function shb(w: W, le: boolean): void {
  // Section length -1: not given (the spec's way of saying "walk the blocks").
  block(w, SHB, (b) => b.u32(BOM).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff), le);
}

function idb(w: W, le: boolean, linkType: number, snaplen: number, tsresol: number | null): void {
  block(
    w,
    IDB,
    (b) => {
      b.u16(linkType).u16(0).u32(snaplen);
      if (tsresol !== null) b.u16(OPT_IF_TSRESOL).u16(1).u8(tsresol).pad4().u16(0).u16(0);
    },
    le,
  );
}

interface NgPkt extends PktSpec {
  simple: boolean;
}

/** Ticks per second of an if_tsresol value (powers of ten only here). */
function ticksPerSec(tsresol: number | null): number {
  return 10 ** (tsresol ?? 6);
}

function pcapngFile(le: boolean, linkType: number, snaplen: number, tsresol: number | null, pkts: NgPkt[]): CaptureCase {
  const w = new W(le);
  shb(w, le);
  idb(w, le, linkType, snaplen, tsresol);
  const expect: ExpectedPacket[] = [];
  const tps = ticksPerSec(tsresol);
  for (const p of pkts) {
    const cap = snaplen === 0 ? p.data.length : Math.min(p.data.length, snaplen);
    const data = p.data.subarray(0, cap);
    if (p.simple) {
      // An SPB carries no time and no caplen: libpcap takes caplen = min(original length, snaplen), stamps 0.
      const orig = data.length;
      block(w, SPB, (b) => b.u32(orig).bytes(data), le);
      expect.push({ sec: 0, nsec: 0, caplen: orig, wirelen: orig, data });
      continue;
    }
    // Timestamps in the interface's units; keep them below 2^53 and exactly convertible.
    const sec = p.sec % 4_000_000_000;
    const sub = Math.floor(p.frac / (1e9 / tps));
    const ticks = BigInt(sec) * BigInt(tps) + BigInt(sub);
    const wirelen = data.length + p.extra;
    block(
      w,
      EPB,
      (b) => b.u32(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(wirelen).bytes(data),
      le,
    );
    expect.push({ sec, nsec: sub * (1e9 / tps), caplen: data.length, wirelen, data });
  }
  const rewritten = le !== HOST_LE && SWAPPED_LINK_TYPES.has(linkType);
  return { kind: `pcapng ${le ? 'LE' : 'BE'} link ${linkType} snaplen ${snaplen} tsresol ${tsresol}`, bytes: w.out(), expect, rewritten };
}

export const wellFormedPcapngArb: fc.Arbitrary<CaptureCase> = fc
  .record({
    le: fc.boolean(),
    linkType: fc.constantFrom(1, 0, 101, 113, 276, 228, 229, 9, 104, 108, 239),
    snaplen: fc.oneof(fc.constantFrom(0, 65535, MAX_SNAPLEN), fc.integer({ min: 200, max: MAX_SNAPLEN })),
    tsresol: fc.constantFrom(null, 3, 6, 9),
    pkts: fc.array(fc.record({ sec: pktArb.map((p) => p.sec), frac: fc.nat({ max: 999_999_999 }), data: packetDataArb, extra: fc.nat({ max: 1500 }), simple: fc.boolean() }), { maxLength: 10 }),
  })
  .map(({ le, linkType, snaplen, tsresol, pkts }) => pcapngFile(le, linkType, snaplen, tsresol, pkts));

/** pcapng with the hostile parts: no IDB, packets for interfaces that do not exist, lying lengths, odd resolutions. */
export const hostilePcapngArb: fc.Arbitrary<CaptureCase> = fc
  .record({
    le: fc.boolean(),
    bom: fc.oneof({ weight: 5, arbitrary: fc.constant(BOM) }, fc.constantFrom(0x4d3c2b1a, 0, 0xffffffff)),
    major: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, fc.constantFrom(0, 2, 0xffff)),
    interfaces: fc.array(
      fc.record({
        linkType: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, linkTypeArb.map((x) => x & 0xffff)),
        snaplen: fc.oneof(fc.constantFrom(0, 1, 65535, MAX_SNAPLEN, MAX_SNAPLEN + 1, 0xffffffff), fc.nat({ max: 0xffffffff })),
        // if_tsresol: powers of ten and two, including the impossible ones (10^-127, 2^-63 ...).
        tsresol: rarely(fc.oneof(fc.constantFrom(0, 6, 9, 19, 20, 0x7f, 0x80, 0x80 | 30, 0x80 | 63, 0x80 | 64, 0xff), fc.nat({ max: 255 })), 2),
      }),
      { maxLength: 3 },
    ),
    blocks: fc.array(
      fc.oneof(
        fc.record({
          k: fc.constant('epb' as const),
          ifid: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constantFrom(1, 2, 3, 0xffffffff)),
          hi: fc.nat({ max: 0xffffffff }),
          lo: fc.nat({ max: 0xffffffff }),
          data: packetDataArb,
          caplen: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, fc.constantFrom(0, 0xffff, MAX_SNAPLEN + 1, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff })),
          orig: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.nat({ max: 0xffffffff })),
        }),
        fc.record({ k: fc.constant('spb' as const), data: packetDataArb, orig: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.nat({ max: 0xffffffff })) }),
        fc.record({ k: fc.constant('idb' as const), linkType: linkTypeArb.map((x) => x & 0xffff), snaplen: fc.nat({ max: 0xffffffff }) }),
        fc.record({ k: fc.constant('shb' as const), le: fc.boolean() }),
        // Unknown, custom (0xBAD, 0x40000BAD) and obsolete packet (2) blocks, with random bodies.
        fc.record({ k: fc.constant('other' as const), type: fc.constantFrom(2, 4, 5, 0xa, 0xbad, 0x40000bad, 0x80000001, 0x12345678), body: fc.uint8Array({ maxLength: 64 }) }),
        // A block whose total length lies (too small, not a multiple of 4, huge, or trailer mismatch).
        fc.record({ k: fc.constant('lying' as const), type: fc.constantFrom(EPB, IDB, SPB, 2, 5), total: fc.constantFrom(0, 4, 8, 11, 12, 13, 28, 31, 0xffff, 0x1000000, 0xfffffff0, 0xffffffff), body: fc.uint8Array({ maxLength: 40 }) }),
      ),
      { maxLength: 10 },
    ),
    cut: rarely(fc.nat({ max: 4000 }), 3),
  })
  .map((s) => {
    const w = new W(s.le);
    block(w, SHB, (b) => b.u32(s.bom).u16(s.major).u16(0).u32(0xffffffff).u32(0xffffffff), s.le);
    for (const i of s.interfaces) idb(w, s.le, i.linkType, i.snaplen, i.tsresol);
    let le = s.le;
    for (const b of s.blocks) {
      switch (b.k) {
        case 'epb':
          block(w, EPB, (x) => x.u32(b.ifid).u32(b.hi).u32(b.lo).u32(b.caplen < 0 ? b.data.length : b.caplen).u32(b.orig < 0 ? b.data.length : b.orig).bytes(b.data), le);
          break;
        case 'spb':
          block(w, SPB, (x) => x.u32(b.orig < 0 ? b.data.length : b.orig).bytes(b.data), le);
          break;
        case 'idb':
          idb(w, le, b.linkType, b.snaplen, null);
          break;
        case 'shb':
          // A new section may switch byte order.
          le = b.le;
          shb(w, le);
          break;
        case 'other':
          block(w, b.type, (x) => x.bytes(b.body), le);
          break;
        case 'lying':
          w.u32(b.type).u32(b.total).bytes(b.body).u32(b.total ^ (b.body.length & 1 ? 0 : 4));
          break;
      }
    }
    let bytes = w.out();
    if (s.cut !== null) bytes = bytes.slice(0, s.cut % (bytes.length + 1));
    return { kind: `hostile pcapng ${s.interfaces.length} interface(s), ${s.blocks.length} block(s)`, bytes };
  });

/** The bundled captures as mutation seeds (small ones whole, big ones cut to their first 64 KiB). */
export function captureSeeds(): { name: string; bytes: Uint8Array }[] {
  return bundledCaptures().map((file) => {
    const b = fs.readFileSync(file);
    return { name: file.slice(file.lastIndexOf('/') + 1), bytes: Uint8Array.from(b.subarray(0, 64 * 1024)) };
  });
}

export function mutatedCaptureArb(seeds: readonly { name: string; bytes: Uint8Array }[]): fc.Arbitrary<CaptureCase> {
  return fc
    .record({ seed: fc.integer({ min: 0, max: seeds.length - 1 }), muts: mutationsArb(8) })
    .map(({ seed, muts }) => ({
      kind: `mutated ${seeds[seed]!.name}: ${muts.map((m) => m.k).join(',')}`,
      bytes: mutate(seeds[seed]!.bytes, muts),
    }));
}

/** Every kind of capture case, weighted towards the hostile ones. */
export function captureCaseArb(seeds: readonly { name: string; bytes: Uint8Array }[]): fc.Arbitrary<CaptureCase> {
  return fc.oneof(
    { weight: 2, arbitrary: wellFormedPcapArb },
    { weight: 2, arbitrary: wellFormedPcapngArb },
    { weight: 3, arbitrary: hostilePcapArb },
    { weight: 3, arbitrary: hostilePcapngArb },
    { weight: 4, arbitrary: mutatedCaptureArb(seeds) },
  );
}
