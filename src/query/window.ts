/**
 * nfdump's `-t` time window: `yyyy/MM/dd.hh:mm:ss[-yyyy/MM/dd.hh:mm:ss]` in local time. Trailing parts may be
 * left out and count as their smallest value ("2015/01/03" is midnight); a single time is a start with no end.
 * A flow passes only if it lies wholly inside: first >= start and last <= end. These are nfdump 1.7.1's rules
 * as measured against it (test/query/nfdump-oracle.test.ts): "2015/01/03-2015/01/03" is the one instant of
 * midnight, and with an end of 19:42:50 a flow ending at 19:42:50.790 is out.
 */

export interface TimeWindow {
  startMs: number;
  /** Infinity when only a start was given. */
  endMs: number;
}

const TIME = /^(\d{4})(?:\/(\d{1,2})(?:\/(\d{1,2})(?:\.(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?)?)?$/;

function instant(text: string, whole: string): number {
  const m = TIME.exec(text);
  if (!m) throw new Error(`time window "${whole}": "${text}" is not yyyy/MM/dd.hh:mm:ss (trailing parts may be left out)`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  const limits: Array<[number | undefined, number, number, string]> = [
    [mo, 1, 12, 'month'],
    [d, 1, 31, 'day'],
    [h, 0, 23, 'hour'],
    [mi, 0, 59, 'minute'],
    [s, 0, 59, 'second'],
  ];
  for (const [v, lo, hi, name] of limits) {
    if (v !== undefined && (v < lo || v > hi)) throw new Error(`time window "${whole}": ${name} ${v} is not ${lo}..${hi}`);
  }
  return new Date(y!, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0).getTime();
}

export function parseTimeWindow(text: string): TimeWindow {
  // The dates use '/', '.' and ':', so a '-' can only be the one between start and end.
  const parts = text.split('-');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new Error(`time window "${text}": expected START or START-END (relative +N/-N times are not supported)`);
  }
  const startMs = instant(parts[0], text);
  const endMs = parts.length === 2 ? instant(parts[1], text) : Infinity;
  if (endMs < startMs) throw new Error(`time window "${text}": the end is before the start`);
  return { startMs, endMs };
}
