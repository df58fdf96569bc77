/**
 * Big-endian unsigned integers of any width from 1 to 8 bytes, as IPFIX reduced-size encoding (RFC 7011 §6.2)
 * and NetFlow v9 exporters use them. Values are JavaScript numbers: exact up to 2^53, which no counter or time
 * we handle reaches.
 */

const TWO32 = 4294967296;

const MAX_BY_LEN = [0, 0xff, 0xffff, 0xffffff, 0xffffffff, 2 ** 40 - 1, 2 ** 48 - 1];

/** Largest value that fits in `len` bytes (saturation limit for counters). */
export function maxUnsigned(len: number): number {
  return len >= 7 ? Number.MAX_SAFE_INTEGER : MAX_BY_LEN[len];
}

export function readUnsigned(dv: DataView, off: number, len: number): number {
  switch (len) {
    case 1:
      return dv.getUint8(off);
    case 2:
      return dv.getUint16(off);
    case 4:
      return dv.getUint32(off);
    case 8:
      return dv.getUint32(off) * TWO32 + dv.getUint32(off + 4);
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + dv.getUint8(off + i);
      return v;
    }
  }
}

/**
 * Writes `v` into `len` bytes. A value too large for the field is saturated to the field's maximum rather than
 * truncated: a counter that reads "at least 2^32-1" misleads less than one that wrapped to a small number.
 */
export function writeUnsigned(dv: DataView, off: number, len: number, v: number): void {
  if (!(v > 0)) v = 0; // also catches NaN
  if (len < 7 && v > maxUnsigned(len)) v = maxUnsigned(len);
  switch (len) {
    case 1:
      dv.setUint8(off, v);
      return;
    case 2:
      dv.setUint16(off, v);
      return;
    case 4:
      dv.setUint32(off, v);
      return;
    case 8:
      dv.setUint32(off, Math.floor(v / TWO32));
      dv.setUint32(off + 4, v % TWO32);
      return;
    default:
      for (let i = len - 1; i >= 0; i--) {
        dv.setUint8(off + i, v % 256);
        v = Math.floor(v / 256);
      }
  }
}
