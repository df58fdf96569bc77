/**
 * pcapng files for our own reader (native/src/pcapng.cc) with what libpcap refuses and the lib's generator does
 * not make: several sections in either byte order, interfaces of different link types, resolutions in powers of
 * ten and two, time offsets, EPB/SPB/obsolete packet blocks among blocks to skip. Each is made with the packets
 * it holds and their link types, and the same file damaged at one block (its length, trailer, interface or
 * captured length, or cut) with the packets before that block and the offset its error must name.
 *
 * Layouts per draft-ietf-opsawg-pcapng: SHB 0x0A0D0D0A (byte-order magic 0x1A2B3C4D, version 1.0, section length
 * -1), IDB 1 (link type, snaplen, options if_tsresol 9 and if_tsoffset 14), OPB 2, SPB 3, EPB 6.
 */
import fc from 'fast-check';
import { BATCH_HEADER } from '../../../src/capture/batch.js';
import type { CaptureCase, ExpectedPacket } from '../lib/pcapgen.js';
import { mutate, mutationsArb } from '../lib/mutate.js';
import { readCapture } from '../../helpers/capture-read.js';

/** A generated pcapng with the link type of each packet, and where a damaged copy must stop. */
export interface PcapngCase extends CaptureCase {
  links?: number[];
  /** The file was damaged at the block at `offset`: the reader gives the packets before it and an error naming it. */
  damage?: { before: ExpectedPacket[]; offset: number };
}

/** LINKTYPE -> the DLT libpcap reports for it (101 is DLT_RAW, 12 on Linux; these others are their own). NFLOG's
 * headers are turned into host order from a section in the other one (checked for its headers only, `rewritten`). */
const LINKS: [number, number][] = [[1, 1], [0, 0], [101, 12], [113, 113], [276, 276], [228, 228], [229, 229], [9, 9], [104, 104], [108, 108], [239, 239]];
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const SHB = 0x0a0d0d0a;

class Out {
  parts: Buffer[] = [];
  length = 0;
  constructor(public le: boolean) {}
  u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v & 0xffff);
    else b.writeUInt16BE(v & 0xffff);
    return b;
  }
  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  /** Appends a block; returns its offset. */
  block(type: number, body: Buffer[]): number {
    const b = Buffer.concat(body);
    const padded = Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
    const total = 12 + padded.length;
    const at = this.length;
    for (const p of [this.u32(type), this.u32(total), padded, this.u32(total)]) {
      this.parts.push(p);
      this.length += p.length;
    }
    return at;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface IfaceSpec {
  link: number;
  snaplen: number;
  /** if_tsresol byte, or null for the default 10^-6. */
  tsresol: number | null;
  tsoffset: bigint | null;
  /** An option the reader must step over (if_name, code 2). */
  name: string | null;
}

type BlockSpec =
  | { k: 'epb' | 'opb'; ifid: number; ticks: bigint; data: Uint8Array; extra: number }
  | { k: 'spb'; data: Uint8Array; extra: number }
  | { k: 'skip'; type: number; body: Uint8Array };

interface SectionSpec {
  le: boolean;
  ifaces: IfaceSpec[];
  blocks: BlockSpec[];
}

const ifaceArb: fc.Arbitrary<IfaceSpec> = fc.record({
  link: fc.integer({ min: 0, max: LINKS.length - 1 }),
  snaplen: fc.oneof(fc.constantFrom(0, 65535, 262144), fc.integer({ min: 1, max: 300 })),
  tsresol: fc.oneof(fc.constant(null), fc.constantFrom(0, 3, 6, 9, 12, 19, 20, 30), fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0x80, max: 0xff })),
  tsoffset: fc.oneof(fc.constant(null), fc.bigInt({ min: -(1n << 40n), max: 1n << 40n })),
  name: fc.oneof(fc.constant(null), fc.string({ maxLength: 13 })),
}).map((f) => ({ ...f, link: LINKS[f.link]![0] }));

const ticksArb = fc.oneof(fc.bigUintN(64), fc.bigInt({ min: 0n, max: 1n << 53n }));

const blockArb: fc.Arbitrary<BlockSpec> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constantFrom('epb' as const, 'opb' as const), ifid: fc.nat(), ticks: ticksArb, data: fc.uint8Array({ maxLength: 200 }), extra: fc.nat({ max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('spb' as const), data: fc.uint8Array({ maxLength: 200 }), extra: fc.oneof(fc.constant(0), fc.nat({ max: 1500 })) }) },
  // Name resolution, interface statistics, decryption secrets, custom (copyable or not), and unknown blocks.
  { weight: 1, arbitrary: fc.record({ k: fc.constant('skip' as const), type: fc.constantFrom(4, 5, 0x0a, 0xbad, 0x40000bad, 0x12345678), body: fc.uint8Array({ maxLength: 64 }) }) },
);

const sectionArb: fc.Arbitrary<SectionSpec> = fc.record({
  le: fc.boolean(),
  ifaces: fc.array(ifaceArb, { minLength: 1, maxLength: 4 }),
  blocks: fc.array(blockArb, { minLength: 2, maxLength: 12 }),
});

/** Seconds and nanoseconds (floor) of `ticks` at an if_tsresol, and the offset, as the batch's u32 fields. */
export function expectedTime(ticks: bigint, tsresol: number | null, offset: bigint | null): [number, number] {
  const r = tsresol ?? 6;
  const n = BigInt(r & 0x7f);
  const per = r & 0x80 ? 1n << n : 10n ** n;
  const sec = ticks / per;
  const nsec = ((ticks % per) * 1_000_000_000n) / per;
  return [Number(BigInt.asUintN(32, sec + (offset ?? 0n))), Number(nsec)];
}

/** A well-formed file and where each packet block starts (to damage one). */
interface Built {
  c: PcapngCase;
  /** Per packet block: its offset, how many packets precede it, its type, and the section's interface count. */
  packetBlocks: { at: number; before: number; type: number; le: boolean; ifaces: number; room: number }[];
  blockStarts: { at: number; before: number }[];
}

function build(sections: SectionSpec[]): Built {
  const o = new Out(sections[0]!.le);
  const expect: ExpectedPacket[] = [];
  const links: number[] = [];
  const packetBlocks: Built['packetBlocks'] = [];
  const blockStarts: Built['blockStarts'] = [];
  let rewritten = false;
  for (const s of sections) {
    o.le = s.le;
    blockStarts.push({ at: o.length, before: expect.length });
    o.block(SHB, [o.u32(0x1a2b3c4d), o.u16(1), o.u16(0), Buffer.alloc(8, 0xff)]);
    for (const f of s.ifaces) {
      const opts: Buffer[] = [];
      if (f.name !== null) {
        const v = Buffer.from(f.name);
        opts.push(o.u16(2), o.u16(v.length), v, Buffer.alloc((4 - (v.length % 4)) % 4));
      }
      if (f.tsresol !== null) opts.push(o.u16(9), o.u16(1), Buffer.from([f.tsresol, 0, 0, 0]));
      if (f.tsoffset !== null) {
        const v = Buffer.alloc(8);
        if (o.le) v.writeBigInt64LE(f.tsoffset);
        else v.writeBigInt64BE(f.tsoffset);
        opts.push(o.u16(14), o.u16(8), v);
      }
      if (opts.length) opts.push(o.u16(0), o.u16(0));
      blockStarts.push({ at: o.length, before: expect.length });
      o.block(1, [o.u16(f.link), o.u16(0), o.u32(f.snaplen), ...opts]);
    }
    for (const b of s.blocks) {
      const at = o.length;
      blockStarts.push({ at, before: expect.length });
      if (b.k === 'skip') {
        o.block(b.type, [Buffer.from(b.body)]);
        continue;
      }
      const ifid = b.k === 'spb' ? 0 : b.ifid % s.ifaces.length;
      const f = s.ifaces[ifid]!;
      const dlt = LINKS.find(([l]) => l === f.link)![1];
      if (b.k === 'spb') {
        const orig = b.data.length + b.extra;
        o.block(3, [o.u32(orig), Buffer.from(b.data)]);
        // Captured: the original length cut to the snapshot length and to the block's data (padding included).
        const room = (b.data.length + 3) & ~3;
        const cap = Math.min(orig, f.snaplen || Infinity, room);
        const padded = new Uint8Array(room);
        padded.set(b.data);
        expect.push({ sec: 0, nsec: 0, caplen: cap, wirelen: orig, data: padded.subarray(0, cap) });
        packetBlocks.push({ at, before: expect.length - 1, type: 3, le: o.le, ifaces: s.ifaces.length, room });
      } else {
        const ts = [o.u32(Number(b.ticks >> 32n)), o.u32(Number(b.ticks & 0xffffffffn))];
        const lens = [o.u32(b.data.length), o.u32(b.data.length + b.extra)];
        o.block(b.k === 'epb' ? 6 : 2, [b.k === 'epb' ? o.u32(ifid) : Buffer.concat([o.u16(ifid), o.u16(0)]), ...ts, ...lens, Buffer.from(b.data)]);
        const [sec, nsec] = expectedTime(b.ticks, f.tsresol, f.tsoffset);
        expect.push({ sec, nsec, caplen: b.data.length, wirelen: b.data.length + b.extra, data: b.data });
        packetBlocks.push({ at, before: expect.length - 1, type: b.k === 'epb' ? 6 : 2, le: o.le, ifaces: s.ifaces.length, room: (b.data.length + 3) & ~3 });
      }
      links.push(dlt);
      if (o.le !== HOST_LE && dlt === 239) rewritten = true;
    }
  }
  const kinds = sections.map((s) => `${s.le ? 'LE' : 'BE'}[${s.ifaces.map((f) => f.link).join(',')}]`).join(' ');
  return { c: { kind: `pcapng sections ${kinds}, ${expect.length} packets`, bytes: o.bytes(), expect, links, rewritten }, packetBlocks, blockStarts };
}

const sectionsArb = fc.array(sectionArb, { minLength: 1, maxLength: 3 });

/** Well-formed: several sections and link types, every packet known. */
export const mixedPcapngArb: fc.Arbitrary<PcapngCase> = sectionsArb.map((s) => build(s).c);

type Damage = 'length' | 'trailer' | 'interface' | 'caplen' | 'cut';

/** One block damaged: the packets before it survive, and the error names its offset. */
export const damagedPcapngArb: fc.Arbitrary<PcapngCase> = fc
  .record({
    sections: sectionsArb,
    how: fc.constantFrom<Damage>('length', 'trailer', 'interface', 'caplen', 'cut'),
    pick: fc.nat(),
    value: fc.nat(),
  })
  .map(({ sections, how, pick, value }): PcapngCase => {
    const { c, packetBlocks, blockStarts } = build(sections);
    const b = Buffer.from(c.bytes);
    const put = (le: boolean, at: number, v: number): void => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at), undefined);
    const get = (le: boolean, at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
    if (how === 'cut') {
      // Inside a block (past the first 4 bytes, which make the file a pcapng): every packet before that block.
      const at = 4 + (value % (b.length - 4));
      const inside = [...blockStarts].reverse().find((s) => s.at <= at)!;
      if (inside.at === at) return { kind: `${c.kind}, cut at block ${at}`, bytes: b.subarray(0, at), expect: c.expect!.slice(0, inside.before), links: c.links!.slice(0, inside.before), rewritten: c.rewritten };
      return { kind: `${c.kind}, cut at ${at}`, bytes: b.subarray(0, at), damage: { before: c.expect!.slice(0, inside.before), offset: inside.at } };
    }
    const pb = packetBlocks.filter((p) => how !== 'interface' || p.type !== 3);
    if (pb.length === 0) return c;
    const p = pb[pick % pb.length]!;
    const total = get(p.le, p.at + 4);
    switch (how) {
      case 'length': {
        // Not a multiple of 4, below the block's minimum, or past the end of the file.
        const bad = [total + 1 + (value % 3), (value % (p.type === 3 ? 16 : 32)) & ~3, total + 4 * (b.length + (value % 1_000_000))];
        put(p.le, p.at + 4, bad[value % 3]!);
        break;
      }
      case 'trailer':
        put(p.le, p.at + total - 4, total + 4 * (1 + (value % 100)));
        break;
      case 'interface':
        if (p.type === 6) put(p.le, p.at + 8, p.ifaces + (value % 1000));
        else p.le ? b.writeUInt16LE(p.ifaces + (value % 100), p.at + 8) : b.writeUInt16BE(p.ifaces + (value % 100), p.at + 8);
        break;
      case 'caplen':
        if (p.type === 3) return c; // an SPB has no captured length to lie with
        put(p.le, p.at + 20, p.room + 1 + (value % 300_000));
        break;
    }
    return { kind: `${c.kind}, ${how} of the block at ${p.at}`, bytes: b, damage: { before: c.expect!.slice(0, p.before), offset: p.at } };
  });

/** Generated files cut and changed at random: only the child's rules (no crash, one-line errors) judge these. */
export const mutatedPcapngArb: fc.Arbitrary<PcapngCase> = fc
  .tuple(sectionsArb, mutationsArb(6))
  .map(([s, muts]) => ({ kind: `mutated generated pcapng: ${muts.map((m) => m.k).join(',')}`, bytes: mutate(build(s).c.bytes, muts) }));

export const pcapngCaseArb: fc.Arbitrary<PcapngCase> = fc.oneof(
  { weight: 2, arbitrary: mixedPcapngArb },
  { weight: 2, arbitrary: damagedPcapngArb },
  { weight: 1, arbitrary: mutatedPcapngArb },
);

/**
 * What the child's report cannot show: each packet's link type, and where a damaged file stops. Run in this process
 * only for files the child has already read without dying. Returns what is wrong, or null.
 */
/** The most of a packet a batch buffer of this size keeps (native/src/pcapng.cc cuts a larger one). */
const TINY_FIT_OF = (bytes: number): number => (bytes - BATCH_HEADER) & ~3;

export function checkPcapngCase(c: PcapngCase, path: string): string | null {
  if (!c.links && !c.damage) return null;
  for (const [bytes, packets] of [[1 << 20, 512], [2048, 3]] as const) {
    const { packets: got, error } = readCapture(
      path,
      (p) => ({ link: p.linkType, sec: p.sec, nsec: p.nsec, caplen: p.caplen, wirelen: p.wirelen }),
      { batchBytes: bytes, batchPackets: packets },
    );
    const tag = `(batches of ${packets})`;
    if (c.links) {
      if (error) return `${tag} well-formed file failed after ${got.length} packets: ${error}`;
      if (got.length !== c.links.length) return `${tag} read ${got.length} packets, the file has ${c.links.length}`;
      const k = got.findIndex((g, i) => g.link !== c.links![i]);
      if (k >= 0) return `${tag} packet ${k}: link type ${got[k]!.link}, the file says ${c.links[k]}`;
    }
    if (c.damage) {
      const { before, offset } = c.damage;
      const want = `at file offset ${offset}`;
      if (error === null || !error.endsWith(want)) return `${tag} damaged at ${offset}: error ${JSON.stringify(error)}, not one ${want}`;
      if (got.length !== before.length) return `${tag} damaged at ${offset}: ${got.length} packets before the error, the file has ${before.length} before that block`;
      const k = got.findIndex((g, i) => {
        const w = before[i]!;
        return g.sec !== w.sec || g.nsec !== w.nsec || g.caplen !== Math.min(w.caplen, TINY_FIT_OF(bytes)) || g.wirelen !== w.wirelen;
      });
      if (k >= 0) return `${tag} damaged at ${offset}: packet ${k} is ${JSON.stringify(got[k])}, the file has ${JSON.stringify({ ...before[k]!, data: undefined })}`;
    }
  }
  return null;
}
