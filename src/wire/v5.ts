/**
 * NetFlow v5 and v1: fixed 48-byte IPv4 records behind a 24-byte (v5) or 16-byte (v1) header. These formats
 * were never published as an RFC; the layout is Cisco's, as softflowd and nfdump implement it (see
 * shared/reference/softflowd.md §4.2–4.3).
 */
import { WireError } from './errors.js';
import type { FlowRecord, FlowSink } from './record.js';
import { TimeBase, coveringExportMs, setRecordMs, toMs } from './time.js';

export const V5_HEADER_LENGTH = 24;
export const V1_HEADER_LENGTH = 16;
export const V5_RECORD_LENGTH = 48;
/** Cisco's limits per datagram: 30 records in v5, 24 in v1 (softflowd sends 30 in v1 too; we keep to 24). */
export const V5_MAX_RECORDS = 30;
export const V1_MAX_RECORDS = 24;

export interface V5Options {
  /** 5 (default) or 1. */
  version?: 1 | 5;
  engineType?: number;
  engineId?: number;
  /** Announced 1-in-N sampling (v5 only; default 1 = none). */
  samplingInterval?: number;
}

/**
 * v5 sampling field: 2 bits of mode, 14 bits of interval. Mode 1 is deterministic 1-in-N, what softflowd -s
 * announces (0x4000 | N).
 */
const SAMPLING_MODE_DETERMINISTIC = 1;

export class V5Encoder {
  readonly version: 1 | 5;
  readonly maxRecords: number;
  /** v5: flows sent before the next datagram (v5 counts flows, not datagrams). */
  sequence = 0;
  /** Records refused because v1/v5 can carry only IPv4. */
  skippedNotIpv4 = 0;
  readonly timeBase = new TimeBase();
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private readonly headerLength: number;
  private readonly engineType: number;
  private readonly engineId: number;
  private readonly sampling: number;
  private count = 0;
  private exportMs = 0;
  private finished = false;

  constructor(opts: V5Options = {}) {
    this.version = opts.version ?? 5;
    if (this.version !== 1 && this.version !== 5) throw new RangeError(`NetFlow version must be 1 or 5, not ${this.version}`);
    this.maxRecords = this.version === 5 ? V5_MAX_RECORDS : V1_MAX_RECORDS;
    this.headerLength = this.version === 5 ? V5_HEADER_LENGTH : V1_HEADER_LENGTH;
    this.buf = new Uint8Array(this.headerLength + this.maxRecords * V5_RECORD_LENGTH);
    this.dv = new DataView(this.buf.buffer);
    this.engineType = opts.engineType ?? 0;
    this.engineId = opts.engineId ?? 0;
    const n = opts.samplingInterval ?? 1;
    if (!(n >= 1 && n <= 0x3fff)) throw new RangeError(`v5 sampling interval must be 1..16383, not ${n}`);
    this.sampling = n > 1 ? (SAMPLING_MODE_DETERMINISTIC << 14) | n : 0;
  }

  /**
   * Starts a datagram. First/Last are ms since `bootTimeMs` (32 bits): flowprobe -r passes the capture's first
   * packet time, so they do not wrap for 49.7 days of capture.
   */
  beginMessage(exportTimeMs: number, bootTimeMs: number): void {
    this.exportMs = Math.floor(exportTimeMs);
    this.timeBase.uptimeZeroMs = Math.floor(bootTimeMs);
    this.count = 0;
    this.finished = false;
  }

  /** Moves the datagram's export time up to `ms` (a record's end) when it is earlier (see coveringExportMs). */
  coverUntil(ms: number): void {
    this.exportMs = coveringExportMs(this.exportMs, this.timeBase.uptimeZeroMs, Math.ceil(ms));
  }

  get recordCount(): number {
    return this.count;
  }

  /**
   * Appends a record. Returns false only when the datagram is full (finish it and add the record to the next);
   * an IPv6 record is consumed without being written, and counted in {@link skippedNotIpv4}.
   */
  addRecord(rec: FlowRecord): boolean {
    if (rec.ipVersion !== 4) {
      this.skippedNotIpv4++;
      return true;
    }
    if (this.count >= this.maxRecords) return false;
    const dv = this.dv;
    const o = this.headerLength + this.count * V5_RECORD_LENGTH;
    const tb = this.timeBase;
    dv.setUint32(o, rec.src[0]);
    dv.setUint32(o + 4, rec.dst[0]);
    dv.setUint32(o + 8, rec.nextHop[0]);
    dv.setUint16(o + 12, sat16(rec.inputIf));
    dv.setUint16(o + 14, sat16(rec.outputIf));
    dv.setUint32(o + 16, sat32(rec.packets));
    dv.setUint32(o + 20, sat32(rec.octets));
    dv.setUint32(o + 24, tb.msToUptime(toMs(rec.startSec, rec.startNsec)));
    dv.setUint32(o + 28, tb.msToUptime(toMs(rec.endSec, rec.endNsec)));
    dv.setUint16(o + 32, rec.srcPort);
    dv.setUint16(o + 34, rec.dstPort);
    if (this.version === 5) {
      dv.setUint8(o + 36, 0);
      dv.setUint8(o + 37, rec.tcpFlags);
      dv.setUint8(o + 38, rec.protocol);
      dv.setUint8(o + 39, rec.tos);
      dv.setUint16(o + 40, sat16(rec.srcAs));
      dv.setUint16(o + 42, sat16(rec.dstAs));
      dv.setUint8(o + 44, rec.srcMask);
      dv.setUint8(o + 45, rec.dstMask);
      dv.setUint16(o + 46, 0);
    } else {
      dv.setUint16(o + 36, 0);
      dv.setUint8(o + 38, rec.protocol);
      dv.setUint8(o + 39, rec.tos);
      dv.setUint8(o + 40, rec.tcpFlags);
      this.buf.fill(0, o + 41, o + 48);
    }
    this.count++;
    return true;
  }

  /** Writes the header; returns the datagram, a view of the reused buffer valid until beginMessage. */
  finish(): Uint8Array {
    const dv = this.dv;
    if (!this.finished) {
      const sec = Math.floor(this.exportMs / 1000);
      dv.setUint16(0, this.version);
      dv.setUint16(2, this.count);
      dv.setUint32(4, this.timeBase.msToUptime(this.exportMs));
      dv.setUint32(8, sec >>> 0);
      dv.setUint32(12, (this.exportMs - sec * 1000) * 1e6);
      if (this.version === 5) {
        dv.setUint32(16, this.sequence);
        dv.setUint8(20, this.engineType);
        dv.setUint8(21, this.engineId);
        dv.setUint16(22, this.sampling);
        this.sequence = (this.sequence + this.count) >>> 0;
      }
      this.finished = true;
    }
    return this.buf.subarray(0, this.headerLength + this.count * V5_RECORD_LENGTH);
  }
}

function sat16(v: number): number {
  return v > 0xffff ? 0xffff : v;
}
function sat32(v: number): number {
  return v > 0xffffffff ? 0xffffffff : v;
}

export class V5Header {
  version = 0;
  count = 0;
  sysUptime = 0;
  unixSecs = 0;
  unixNsecs = 0;
  /** v5: flows sent before this datagram (v1 has none: 0). */
  sequence = 0;
  engineType = 0;
  engineId = 0;
  /** Top 2 bits of the sampling field. */
  samplingMode = 0;
  /** Low 14 bits: 1 in N, 0 when not sampled. */
  samplingInterval = 0;
}

/**
 * Decodes a v1 or v5 datagram: header into `h`, each record into `rec` (reused) and then `sink.onFlow`.
 * First/Last come back as absolute times through the header's UNIX time and sysUptime. Returns an error code;
 * no record is delivered from a datagram whose count does not fit its length.
 */
export function decodeV5(buf: Uint8Array, h: V5Header, rec: FlowRecord, sink: FlowSink, tb = new TimeBase()): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 4) return WireError.SHORT_HEADER;
  h.version = dv.getUint16(0);
  if (h.version !== 5 && h.version !== 1) return WireError.BAD_VERSION;
  const hl = h.version === 5 ? V5_HEADER_LENGTH : V1_HEADER_LENGTH;
  if (buf.byteLength < hl) return WireError.SHORT_HEADER;
  h.count = dv.getUint16(2);
  h.sysUptime = dv.getUint32(4);
  h.unixSecs = dv.getUint32(8);
  h.unixNsecs = dv.getUint32(12);
  if (h.version === 5) {
    h.sequence = dv.getUint32(16);
    h.engineType = dv.getUint8(20);
    h.engineId = dv.getUint8(21);
    const s = dv.getUint16(22);
    h.samplingMode = s >>> 14;
    h.samplingInterval = s & 0x3fff;
  } else {
    h.sequence = h.engineType = h.engineId = h.samplingMode = h.samplingInterval = 0;
  }
  // Extra bytes after the records are tolerated (some exporters pad); too few are not.
  if (hl + h.count * V5_RECORD_LENGTH > buf.byteLength) return WireError.BAD_LENGTH;
  tb.setFromHeader(h.unixSecs * 1000 + Math.floor(h.unixNsecs / 1e6), h.sysUptime);
  for (let i = 0; i < h.count; i++) {
    const o = hl + i * V5_RECORD_LENGTH;
    rec.clear();
    rec.ipVersion = 4;
    rec.src[0] = dv.getUint32(o);
    rec.dst[0] = dv.getUint32(o + 4);
    rec.nextHop[0] = dv.getUint32(o + 8);
    rec.inputIf = dv.getUint16(o + 12);
    rec.outputIf = dv.getUint16(o + 14);
    rec.packets = dv.getUint32(o + 16);
    rec.octets = dv.getUint32(o + 20);
    setRecordMs(rec, false, tb.uptimeToMs(dv.getUint32(o + 24)));
    setRecordMs(rec, true, tb.uptimeToMs(dv.getUint32(o + 28)));
    rec.srcPort = dv.getUint16(o + 32);
    rec.dstPort = dv.getUint16(o + 34);
    if (h.version === 5) {
      rec.tcpFlags = dv.getUint8(o + 37);
      rec.protocol = dv.getUint8(o + 38);
      rec.tos = dv.getUint8(o + 39);
      rec.srcAs = dv.getUint16(o + 40);
      rec.dstAs = dv.getUint16(o + 42);
      rec.srcMask = dv.getUint8(o + 44);
      rec.dstMask = dv.getUint8(o + 45);
    } else {
      rec.protocol = dv.getUint8(o + 38);
      rec.tos = dv.getUint8(o + 39);
      rec.tcpFlags = dv.getUint8(o + 40);
    }
    sink.onFlow(rec);
  }
  return WireError.OK;
}
