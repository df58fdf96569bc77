/**
 * NetFlow version 9 (RFC 3954): the 20-byte packet header, the exporter and the set walk. Templates, records
 * and sets are shared with IPFIX in template.ts.
 */
import { WireError } from './errors.js';
import { MessageEncoder, V9, walkSets, type EncoderOptions, type SetVisitor } from './template.js';
import { TimeBase, mod32 } from './time.js';

export const V9_VERSION = 9;
/** RFC 3954 §5.1: version, count, sysUpTime, UNIX secs, sequence number, source ID. */
export const V9_HEADER_LENGTH = 20;

export class V9Header {
  version = 0;
  /** RFC 3954 §5.1: all records in the packet, template and options records included. */
  count = 0;
  sysUptime = 0;
  unixSecs = 0;
  /** Packets sent by this exporter (per source ID) before this one. */
  sequence = 0;
  sourceId = 0;
}

/** Reads the header of a v9 packet. Returns an error code. */
export function readV9Header(dv: DataView, length: number, h: V9Header): number {
  if (length < V9_HEADER_LENGTH) return WireError.SHORT_HEADER;
  h.version = dv.getUint16(0);
  if (h.version !== V9_VERSION) return WireError.BAD_VERSION;
  h.count = dv.getUint16(2);
  h.sysUptime = dv.getUint32(4);
  h.unixSecs = dv.getUint32(8);
  h.sequence = dv.getUint32(12);
  h.sourceId = dv.getUint32(16);
  return WireError.OK;
}

/** The time base of a v9 packet's sysUpTime-relative fields. */
export function v9TimeBase(h: V9Header, tb: TimeBase): TimeBase {
  tb.setFromHeader(h.unixSecs * 1000, h.sysUptime);
  return tb;
}

/**
 * Reads the header into `h` and reports every set to `v`. Returns the header's error code (sets are not walked
 * then); errors inside the packet go to `v.onError`.
 */
export function walkV9(buf: Uint8Array, h: V9Header, v: SetVisitor): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const e = readV9Header(dv, buf.byteLength, h);
  if (e !== WireError.OK) return e;
  walkSets(V9, dv, V9_HEADER_LENGTH, buf.byteLength, v);
  return WireError.OK;
}

/**
 * Exporter side. Header count follows RFC 3954 §5.1 (template, options template and data records all count;
 * softflowd counts data records only, and nfcapd accepts both). The sequence counts packets from 0.
 */
export class V9Encoder extends MessageEncoder {
  /** Sequence number of the next packet. */
  sequence = 0;

  constructor(opts: EncoderOptions = {}) {
    super(V9, opts);
  }

  /**
   * The v9 header has whole UNIX seconds only, and collectors place records at unix_secs·1000 − sysUpTime +
   * value. With the boot time on a whole second, sysUpTime = unix_secs·1000 − boot is exact, and so is every
   * record time, to the millisecond; a boot time with milliseconds would shift them all by up to 999 ms.
   */
  protected override uptimeZero(bootMs: number): number {
    return Math.floor(bootMs / 1000) * 1000;
  }

  /** The header's time is unix_secs: the next whole second at or after ms. */
  protected override headerTimeFor(ms: number): number {
    return Math.ceil(ms / 1000) * 1000;
  }

  protected writeHeader(): void {
    const dv = this.dv;
    const unixSecs = Math.floor(this.exportMs / 1000);
    dv.setUint16(0, V9_VERSION);
    dv.setUint16(2, this.allRecords);
    dv.setUint32(4, mod32(unixSecs * 1000 - this.timeBase.uptimeZeroMs));
    dv.setUint32(8, unixSecs >>> 0);
    dv.setUint32(12, this.sequence);
    dv.setUint32(16, this.options.domainId >>> 0);
    this.sequence = (this.sequence + 1) >>> 0;
  }
}
