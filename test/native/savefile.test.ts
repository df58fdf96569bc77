/**
 * The addon reads plain pcap files itself (native/src/savefile.cc) and hands anything unusual back to libpcap.
 * A filter that matches every packet makes libpcap read the whole file, so each capture is read both ways and
 * must give the same packets, in the same batches' worth of bytes, and the same error at the same place. (pcapng
 * files have a reader of their own, compared with libpcap in pcapng.test.ts.)
 */
import { describe, it, expect, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFile } from '../../src/capture/file.js';
import { batchRecordSize, OFF_CAPLEN, OFF_NSEC, OFF_SEC, OFF_WIRELEN, BATCH_HEADER } from '../../src/capture/batch.js';
import { sharedDir } from '../helpers/shared.js';
import { readCapture } from '../helpers/capture-read.js';
import { addon } from '../../src/capture/native.js';

const PCAPS = path.resolve(__dirname, '../../pcaps');
const SHARED = path.join(sharedDir(), 'pcaps');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-savefile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Matches every packet on every link type, so libpcap reads the file instead of the fast reader. */
const EVERYTHING = 'len >= 0';

interface Read {
  packets: string[];
  error: string | null;
}

/** Every packet as a digest of its times, lengths and bytes, and the error that ended the reading, if any. */
function read(file: string, opts: { filter?: string; batchBytes?: number; libpcap?: boolean }): Read {
  return readCapture(
    file,
    (p) => createHash('sha1').update(`${p.sec}.${p.nsec} ${p.caplen} ${p.wirelen} `).update(p.padded).digest('hex'),
    opts,
  );
}

function both(file: string, batchBytes?: number): { fast: Read; libpcap: Read } {
  return { fast: read(file, { batchBytes }), libpcap: read(file, { filter: EVERYTHING, batchBytes, libpcap: true }) };
}

const captures = [
  ...fs.readdirSync(SHARED).filter((f) => /\.pcap$/.test(f)).map((f) => path.join(SHARED, f)),
  ...fs.readdirSync(PCAPS).filter((f) => /\.pcap$/.test(f)).map((f) => path.join(PCAPS, f)),
];

/** A classic pcap: header fields and records given raw, so each can be wrong in its own way. */
function pcap(opts: { magic?: number; major?: number; minor?: number; snaplen?: number; records: Buffer[]; tail?: Buffer }): string {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(opts.magic ?? 0xa1b2c3d4, 0);
  h.writeUInt16LE(opts.major ?? 2, 4);
  h.writeUInt16LE(opts.minor ?? 4, 6);
  h.writeUInt32LE(opts.snaplen ?? 65535, 16);
  h.writeUInt32LE(1, 20);
  const file = path.join(tmp, `${createHash('sha1').update(JSON.stringify(opts)).digest('hex')}.pcap`);
  fs.writeFileSync(file, Buffer.concat([h, ...opts.records, opts.tail ?? Buffer.alloc(0)]));
  return file;
}

function record(i: number, caplen: number, wirelen = caplen, frac = i * 1000): Buffer {
  const r = Buffer.alloc(16 + caplen);
  r.writeUInt32LE(1_700_000_000 + i, 0);
  r.writeUInt32LE(frac, 4);
  r.writeUInt32LE(caplen, 8);
  r.writeUInt32LE(wirelen, 12);
  for (let j = 0; j < caplen; j++) r[16 + j] = (i * 31 + j) & 0xff;
  return r;
}

const many = (n: number, caplen = (i: number) => 60 + (i % 90)): Buffer[] => Array.from({ length: n }, (_, i) => record(i, caplen(i)));

describe('the fast savefile reader reads what libpcap reads', () => {
  it.each(captures.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const { fast, libpcap } = both(file);
    expect(fast).toEqual(libpcap);
    // And with batches ending every few packets, so block and batch boundaries fall everywhere.
    expect(read(file, { batchBytes: 2048 })).toEqual(read(file, { filter: EVERYTHING, batchBytes: 2048, libpcap: true }));
  });

  it('crosses its 1 MiB read blocks inside records', () => {
    // 20,000 records of 60-149 bytes: about 2.3 MB, so several block ends fall in the middle of a record.
    const file = pcap({ records: many(20_000) });
    const { fast, libpcap } = both(file);
    expect(fast.packets.length).toBe(20_000);
    expect(fast).toEqual(libpcap);
  });

  it('scales microseconds and keeps nanoseconds', () => {
    const micro = read(pcap({ records: [record(1, 60, 60, 999_999)] }), {});
    const nano = read(pcap({ magic: 0xa1b23c4d, records: [record(1, 60, 60, 999_999_999)] }), {});
    expect(micro.error).toBeNull();
    expect(nano.error).toBeNull();
    expect(micro).toEqual(read(pcap({ records: [record(1, 60, 60, 999_999)] }), { filter: EVERYTHING }));
    expect(nano).toEqual(read(pcap({ magic: 0xa1b23c4d, records: [record(1, 60, 60, 999_999_999)] }), { filter: EVERYTHING }));
  });

  it.each([
    ['a record longer than the snapshot length in the middle', { snaplen: 100, records: [...many(50, () => 80), record(50, 150), ...many(10, () => 80)] }],
    ['a record longer than libpcap accepts at all', { records: [...many(10), record(10, 300_000), ...many(5)] }],
    ['a file cut inside a record header', { records: many(100), tail: Buffer.alloc(7, 1) }],
    ['a file cut inside a record', { records: many(100), tail: record(100, 200).subarray(0, 120) }],
    ['version 2.3, whose lengths may be the other way round', { minor: 3, records: [record(0, 60, 40), ...many(5)] }],
    ['version 2.2', { minor: 2, records: [record(0, 60, 90), ...many(5)] }],
    ['a snapshot length of 0', { snaplen: 0, records: many(20) }],
  ] as const)('%s', (_name, spec) => {
    const file = pcap(spec as Parameters<typeof pcap>[0]);
    const { fast, libpcap } = both(file);
    expect(fast).toEqual(libpcap);
    expect(read(file, { batchBytes: 1024 })).toEqual(read(file, { filter: EVERYTHING, batchBytes: 1024 }));
  });
});

describe('the fast reader makes its batches ahead on a thread', () => {
  /** The timestamp second of every record read (less the files' base), in the order read. */
  function seconds(handle: ReturnType<typeof addon.openOffline>, shapes: [number, number][]): number[] {
    const out: number[] = [];
    for (let call = 0; call < 100_000; call++) {
      const [bytes, max] = shapes[call % shapes.length]!;
      const buf = Buffer.from(new ArrayBuffer(bytes));
      const n = handle.next(buf, max);
      if (n < 0) break;
      let off = 0;
      for (let i = 0; i < n; i++) {
        out.push(buf.readUInt32LE(off + OFF_SEC) - 1_700_000_000);
        off += batchRecordSize(buf.readUInt32LE(off + OFF_CAPLEN));
      }
    }
    return out;
  }

  it('gives every record once, in order, when the caller changes its batch size mid-file', () => {
    const file = pcap({ records: many(30_000) });
    const h = addon.openOffline(file);
    try {
      // The first call sets the shape the thread reads ahead in; the later ones do not fit it.
      const got = seconds(h, [[1 << 20, 512], [4096, 7], [1 << 16, 1000]]);
      expect(got).toEqual(Array.from({ length: 30_000 }, (_, i) => i));
    } finally {
      h.close();
    }
  });

  it('can be closed while it is reading ahead, and then refuses to read', () => {
    const file = pcap({ records: many(50_000) });
    for (let i = 0; i < 20; i++) {
      const h = addon.openOffline(file);
      const buf = Buffer.from(new ArrayBuffer(1 << 16));
      expect(h.next(buf, 64)).toBe(64);
      h.close();
      expect(() => h.next(buf, 64)).toThrow(/closed/);
    }
  });

  it('hands a bad record to libpcap after the batches before it, losing none', () => {
    // Many full batches made ahead, then a record over the snapshot length: libpcap must go on from exactly it.
    const file = pcap({ snaplen: 200, records: [...many(20_000, () => 100), record(20_000, 300), ...many(5, () => 100)] });
    const { fast, libpcap } = both(file);
    expect(fast.packets.length).toBe(libpcap.packets.length);
    expect(fast).toEqual(libpcap);
  });

  it('hands its batches over in place after the first, the same packets as copied, and they stay readable after close', () => {
    const file = pcap({ records: many(30_000) });
    const src = openFile(file);
    const copied = read(file, { filter: EVERYTHING });
    const seen: string[] = [];
    let inPlace = 0;
    let last: Buffer | null = null;
    try {
      for (let guard = 0; guard < 1000; guard++) {
        const n = src.next();
        if (n < 0) break;
        // A batch left in a read-ahead slot is another buffer than the one the source gave the addon.
        if (last !== null && src.buf.buffer !== last.buffer) inPlace++;
        last ??= src.buf;
        let off = 0;
        for (let i = 0; i < n; i++) {
          const caplen = src.buf.readUInt32LE(off + OFF_CAPLEN);
          seen.push(
            createHash('sha1')
              .update(`${src.buf.readUInt32LE(off + OFF_SEC)}.${src.buf.readUInt32LE(off + OFF_NSEC)} ${caplen} ${src.buf.readUInt32LE(off + OFF_WIRELEN)} `)
              .update(src.buf.subarray(off + BATCH_HEADER, off + batchRecordSize(caplen)))
              .digest('hex'),
          );
          off += batchRecordSize(caplen);
        }
      }
    } finally {
      src.close();
    }
    expect(seen).toEqual(copied.packets);
    expect(inPlace).toBeGreaterThan(10);
    // The last slot read is the caller's memory still, though the reader is gone.
    expect(src.buf.readUInt32LE(OFF_CAPLEN)).toBeGreaterThan(0);
  });
});
