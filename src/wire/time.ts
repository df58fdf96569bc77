/**
 * Time on the wire. FlowRecord keeps seconds + nanoseconds since the Unix epoch; the formats carry milliseconds
 * relative to the exporter's sysUpTime (v5, v9, IPFIX IEs 21/22), absolute seconds or milliseconds, or 64-bit NTP
 * timestamps (IPFIX dateTimeMicroseconds/Nanoseconds, RFC 7011 §6.1.9–6.1.10).
 */
import type { FlowRecord } from './record.js';

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (RFC 5905 §6, figure 4: 2,208,988,800). */
export const NTP_UNIX_OFFSET = 2208988800;
const TWO32 = 4294967296;

/** Start (end=false) or end time of a record in ms since the epoch. */
export function recordMs(r: FlowRecord, end: boolean): number {
  return end ? toMs(r.endSec, r.endNsec) : toMs(r.startSec, r.startNsec);
}

export function setRecordTime(r: FlowRecord, end: boolean, sec: number, nsec: number): void {
  if (end) {
    r.endSec = sec;
    r.endNsec = nsec;
  } else {
    r.startSec = sec;
    r.startNsec = nsec;
  }
}

export function setRecordMs(r: FlowRecord, end: boolean, ms: number): void {
  // The remainder is taken with %, which is exact for any double: ms - sec·1000 is not once ms passes 2^53 (a
  // 64-bit millisecond field can say anything), and gave nanoseconds below 0 or past the second.
  const rem = ((ms % 1000) + 1000) % 1000;
  setRecordTime(r, end, Math.floor(ms / 1000), rem * 1e6);
}

/** Milliseconds since the epoch from seconds + nanoseconds, truncated as every exporter truncates. */
export function toMs(sec: number, nsec: number): number {
  return sec * 1000 + Math.floor(nsec / 1e6);
}

/** x mod 2^32 for any finite x, including negative (sysUpTime arithmetic). */
export function mod32(x: number): number {
  const r = x % TWO32;
  return r < 0 ? r + TWO32 : r;
}

/**
 * NTP fraction (units of 2^-32 s) from nanoseconds, rounded up so that {@link ntpFracToNsec} gives the same
 * nanosecond back. nsec·2^32/10^9 = nsec·2^23/5^9; nsec·2^23 < 2^53 so the arithmetic stays exact.
 */
export function nsecToNtpFrac(nsec: number): number {
  const x = nsec * 8388608;
  const q = Math.floor(x / 1953125);
  return x - q * 1953125 > 0 ? q + 1 : q;
}

export function ntpFracToNsec(frac: number): number {
  return Math.floor((frac * 1953125) / 8388608);
}

/**
 * NTP fraction from microseconds for dateTimeMicroseconds: RFC 7011 §6.1.9 says its lowest 11 bits SHOULD be
 * zero, so they are cleared (less than half a microsecond, which {@link ntpFracToUsec} rounds back).
 */
export function usecToNtpFrac(usec: number): number {
  const x = usec * 67108864; // usec·2^32/10^6 = usec·2^26/5^6
  const q = Math.floor(x / 15625);
  const f = x - q * 15625 > 0 ? q + 1 : q;
  return (f - (f % 2048)) >>> 0;
}

/** Nearest microsecond: tolerates the cleared low bits and exporters that truncate instead of rounding. */
export function ntpFracToUsec(frac: number): number {
  return Math.round((frac * 15625) / 67108864);
}

/** Unix seconds from NTP seconds; values below the 1970 offset are taken as NTP era 1 (after 2036-02-07). */
export function ntpSecToUnix(ntpSec: number): number {
  return ntpSec >= NTP_UNIX_OFFSET ? ntpSec - NTP_UNIX_OFFSET : ntpSec + TWO32 - NTP_UNIX_OFFSET;
}

/**
 * The clock a message's relative times refer to, set once per message. Encoders use {@link uptimeZeroMs} (the
 * exporter's boot time); decoders also use {@link nowUptimeMs} to undo 32-bit wraps.
 */
export class TimeBase {
  /** Unix time in ms at which sysUpTime was 0 (NaN when unknown, e.g. IPFIX without systemInitTimeMilliseconds). */
  uptimeZeroMs = 0;
  /** sysUpTime when the message was made: records cannot be younger than this. */
  nowUptimeMs = 0;
  /** Export time, seconds since the epoch (IPFIX header; IEs 158/159 count back from it). */
  exportSec = 0;
  /** Relative times that could not be placed because the uptime base was unknown. */
  unresolved = 0;

  /** v5 and v9 headers carry sysUptime and the Unix time of the same instant. */
  setFromHeader(unixMs: number, sysUptimeMs: number): void {
    this.uptimeZeroMs = unixMs - sysUptimeMs;
    this.nowUptimeMs = sysUptimeMs;
    this.exportSec = Math.floor(unixMs / 1000);
  }

  /**
   * IPFIX: the header has only whole seconds, and the uptime base comes from an options record
   * (systemInitTimeMilliseconds, IE 160) that the caller's session keeps; pass NaN when none was seen.
   */
  setForIpfix(exportSec: number, systemInitMs: number): void {
    this.exportSec = exportSec;
    this.uptimeZeroMs = systemInitMs;
    // The message was made at most 999 ms after its export second.
    this.nowUptimeMs = exportSec * 1000 + 999 - systemInitMs;
  }

  /**
   * Unix ms of a 32-bit sysUpTime value. The value is taken as at most 2^32 ms (49.7 days) older than the
   * message, so counters that wrapped, or exporters whose boot time is later than the flow (softflowd -r), still
   * give the right time.
   */
  uptimeToMs(v: number): number {
    return this.uptimeZeroMs + this.nowUptimeMs - mod32(this.nowUptimeMs - v);
  }

  /** 32-bit sysUpTime value of an absolute time, relative to {@link uptimeZeroMs}. */
  msToUptime(ms: number): number {
    // The exporter keeps its times within 2^32 ms of the base (exporter.ts), so % (a call into a remainder
    // loop for doubles) is for the rest only.
    const d = ms - this.uptimeZeroMs;
    return d >= 0 && d < TWO32 ? d : mod32(d);
  }
}

/**
 * The export time a v1/v5/v9 header needs for its sysUpTime to be no earlier than `headerMs` (a record's end, in
 * the header's resolution): that, when it is later than `exportMs` and within 2^32 ms of the uptime zero, else
 * `exportMs`. A record that ends after the header's sysUpTime reads to a decoder as one from before an uptime
 * wrap, 49.7 days earlier. Every operand is used either way: a comparison V8 had not seen made it recompile the
 * export at the first record that needed it.
 */
export function coveringExportMs(exportMs: number, uptimeZeroMs: number, headerMs: number): number {
  const fits = headerMs - uptimeZeroMs < 2 ** 32;
  return headerMs > exportMs && fits ? headerMs : exportMs;
}
