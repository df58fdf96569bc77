/**
 * What the capture-file fuzz does with each file, in the child process (reader-child.ts): read it through the
 * native reader (src/capture/file.ts → PacketSource.next), check the batch layout, and report.
 *
 * Each file is read twice, with the default batch buffer and with a tiny one (3 packets, 2 KiB), and the two must
 * agree: the same packets, times, wire lengths and bytes (cut to what fits the tiny buffer), and the same error.
 */
import { openFile } from '../../../src/capture/file.js';
import { BATCH_HEADER, OFF_CAPLEN, OFF_NSEC, OFF_SEC, OFF_WIRELEN } from '../../../src/capture/batch.js';

export const TINY_BATCH_BYTES = 2048;
export const TINY_BATCH_PACKETS = 3;
/** The most a packet keeps in the tiny buffer: the buffer less one header, rounded down to 4 (native/src/addon.cc). */
export const TINY_FIT = (TINY_BATCH_BYTES - BATCH_HEADER) & ~3;

export interface ManifestEntry {
  path: string;
  /** Report every packet (for files whose packets the parent knows). */
  packets: boolean;
}

/** One packet as read: seconds, nanoseconds, caplen, wire length, FNV-1a of its bytes. */
export type PacketLine = [number, number, number, number, number];

export interface ReadReport {
  i: number;
  /** libpcap's text when the file could not be opened. */
  openError: string | null;
  linkType: number;
  count: number;
  /** libpcap's text for an error met while reading (after `count` packets). */
  readError: string | null;
  /** A broken rule of the batch layout or of the two reads agreeing; null when all held. */
  broken: string | null;
  packets?: PacketLine[];
}

export function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** An error message must be one non-empty line of text. */
export function badMessage(e: unknown): string | null {
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  if (typeof e.message !== 'string' || e.message.trim() === '') return 'empty error message';
  if (e.message.includes('\n')) return `multi-line error message: ${JSON.stringify(e.message)}`;
  return null;
}

interface Pass {
  openError: string | null;
  linkType: number;
  readError: string | null;
  pkts: { sec: number; nsec: number; caplen: number; wirelen: number; full: number; tiny: number }[];
  broken: string | null;
}

/** Reads a whole file; never throws. */
function readPass(path: string, batchBytes?: number, batchPackets?: number): Pass {
  const pass: Pass = { openError: null, linkType: -1, readError: null, pkts: [], broken: null };
  let src;
  try {
    src = openFile(path, { batchBytes, batchPackets });
  } catch (e) {
    pass.openError = (e as Error).message;
    pass.broken = badMessage(e);
    return pass;
  }
  pass.linkType = src.linkType;
  const max = batchPackets ?? 512;
  // Bounded: a file of at most a few hundred KiB cannot hold more packets than this.
  for (let batch = 0; batch < 1_000_000; batch++) {
    let n: number;
    try {
      n = src.next();
    } catch (e) {
      pass.readError = (e as Error).message;
      pass.broken = badMessage(e);
      // The reader must stay safe to call after an error (the job stops, but a caller might not).
      for (let k = 0; k < 2; k++) {
        try {
          src.next();
        } catch {
          /* an error again is fine */
        }
      }
      break;
    }
    if (!Number.isInteger(n) || n < -1 || n > max) {
      pass.broken = `next() returned ${n} (batch of at most ${max})`;
      break;
    }
    if (n === -1) {
      const again = src.next();
      if (again !== -1) pass.broken = `next() after the end returned ${again}`;
      break;
    }
    if (n === 0) {
      pass.broken = 'next() returned 0 on a savefile';
      break;
    }
    const { buf, u32 } = src;
    let off = 0;
    for (let i = 0; i < n; i++) {
      if (off + BATCH_HEADER > buf.length) {
        pass.broken = `packet ${i} of ${n}: header at ${off} past the ${buf.length}-byte buffer`;
        break;
      }
      const w = off >>> 2;
      const caplen = u32[w + (OFF_CAPLEN >>> 2)]!;
      const end = off + BATCH_HEADER + caplen;
      if (end > buf.length) {
        pass.broken = `packet ${i}: caplen ${caplen} at ${off} runs past the ${buf.length}-byte buffer`;
        break;
      }
      const padEnd = off + BATCH_HEADER + ((caplen + 3) & ~3);
      for (let j = end; j < padEnd; j++) {
        if (buf[j] !== 0) {
          pass.broken = `packet ${i}: padding byte ${j} is ${buf[j]}, not 0`;
          break;
        }
      }
      const start = off + BATCH_HEADER;
      pass.pkts.push({
        sec: u32[w + (OFF_SEC >>> 2)]!,
        nsec: u32[w + (OFF_NSEC >>> 2)]!,
        caplen,
        wirelen: u32[w + (OFF_WIRELEN >>> 2)]!,
        full: fnv1a(buf, start, end),
        tiny: fnv1a(buf, start, start + Math.min(caplen, TINY_FIT)),
      });
      off = padEnd;
    }
    if (pass.broken) break;
  }
  src.close();
  src.close();
  return pass;
}

export function readFile(i: number, e: ManifestEntry): ReadReport {
  const a = readPass(e.path);
  const b = readPass(e.path, TINY_BATCH_BYTES, TINY_BATCH_PACKETS);
  let broken = a.broken ?? b.broken;
  if (!broken) {
    if (a.openError !== b.openError) broken = `open: "${a.openError}" vs "${b.openError}" with a tiny buffer`;
    else if (a.readError !== b.readError) broken = `read error: "${a.readError}" vs "${b.readError}" with a tiny buffer`;
    else if (a.pkts.length !== b.pkts.length) broken = `${a.pkts.length} packets, ${b.pkts.length} with a tiny buffer`;
    else {
      for (let k = 0; k < a.pkts.length && !broken; k++) {
        const p = a.pkts[k]!;
        const q = b.pkts[k]!;
        if (p.sec !== q.sec || p.nsec !== q.nsec || p.wirelen !== q.wirelen) broken = `packet ${k}: header differs with a tiny buffer`;
        else if (q.caplen !== Math.min(p.caplen, TINY_FIT)) broken = `packet ${k}: caplen ${p.caplen}, ${q.caplen} with a tiny buffer`;
        else if (p.tiny !== q.full) broken = `packet ${k}: bytes differ with a tiny buffer`;
      }
    }
  }
  const r: ReadReport = { i, openError: a.openError, linkType: a.linkType, count: a.pkts.length, readError: a.readError, broken };
  if (e.packets) r.packets = a.pkts.map((p) => [p.sec, p.nsec, p.caplen, p.wirelen, p.full]);
  return r;
}
