/**
 * IPFIX (RFC 7011): the 16-byte message header, the exporter and the set walk. Templates, records and sets are
 * shared with NetFlow v9 in template.ts; the elements come from the IANA registry (RFC 7012) in ie.ts.
 */
import { WireError } from './errors.js';
import { IPFIX, MessageEncoder, walkSets, type EncoderOptions, type SetVisitor } from './template.js';
import { TimeBase } from './time.js';

export const IPFIX_VERSION = 10;
/** RFC 7011 §3.1: version, length, export time, sequence number, observation domain ID. */
export const IPFIX_HEADER_LENGTH = 16;

export class IpfixHeader {
  version = 0;
  /** Message length including this header (RFC 7011 §3.1). */
  length = 0;
  exportTime = 0;
  /** Data records sent in this domain before this message, mod 2^32 (RFC 7011 §3.1). */
  sequence = 0;
  domainId = 0;
}

/** Reads an IPFIX message header; the message is [0, h.length) of the `length` bytes available. */
export function readIpfixHeader(dv: DataView, length: number, h: IpfixHeader): number {
  if (length < IPFIX_HEADER_LENGTH) return WireError.SHORT_HEADER;
  h.version = dv.getUint16(0);
  if (h.version !== IPFIX_VERSION) return WireError.BAD_VERSION;
  h.length = dv.getUint16(2);
  if (h.length < IPFIX_HEADER_LENGTH || h.length > length) return WireError.BAD_LENGTH;
  h.exportTime = dv.getUint32(4);
  h.sequence = dv.getUint32(8);
  h.domainId = dv.getUint32(12);
  return WireError.OK;
}

/** Writes an IPFIX message header (RFC 7011 §3.1) at `off`. */
export function writeIpfixHeader(
  dv: DataView,
  off: number,
  length: number,
  exportSec: number,
  sequence: number,
  domainId: number,
): void {
  dv.setUint16(off, IPFIX_VERSION);
  dv.setUint16(off + 2, length);
  dv.setUint32(off + 4, exportSec >>> 0);
  dv.setUint32(off + 8, sequence >>> 0);
  dv.setUint32(off + 12, domainId >>> 0);
}

/**
 * Time base for a message: `systemInitMs` is the exporter's systemInitTimeMilliseconds (IE 160) from an options
 * record the session kept, or NaN if none has been seen (then IEs 21/22 cannot be placed and are counted in
 * tb.unresolved).
 */
export function ipfixTimeBase(h: IpfixHeader, systemInitMs: number, tb: TimeBase): TimeBase {
  tb.setForIpfix(h.exportTime, systemInitMs);
  return tb;
}

/**
 * Reads the header into `h` and reports every set of the message to `v`. Returns the header's error code (sets
 * are not walked then); bytes after h.length are not read.
 */
export function walkIpfix(buf: Uint8Array, h: IpfixHeader, v: SetVisitor): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const e = readIpfixHeader(dv, buf.byteLength, h);
  if (e !== WireError.OK) return e;
  walkSets(IPFIX, dv, IPFIX_HEADER_LENGTH, h.length, v);
  return WireError.OK;
}

/**
 * Exporter side. The sequence number is the count of data records (options data included) sent before this
 * message, as RFC 7011 §3.1 says (softflowd counts the message's own records too).
 */
export class IpfixEncoder extends MessageEncoder {
  /** Data records sent before the next message. */
  sequence = 0;

  constructor(opts: EncoderOptions = {}) {
    super(IPFIX, opts);
  }

  protected writeHeader(): void {
    writeIpfixHeader(this.dv, 0, this.pos, Math.floor(this.exportMs / 1000), this.sequence, this.options.domainId);
    this.sequence = (this.sequence + this.dataRecords) >>> 0;
  }
}
