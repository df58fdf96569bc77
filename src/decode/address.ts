/**
 * IP addresses as text and back. Addresses live as four big-endian 32-bit words (PacketView, FlowRecord), IPv4 in
 * word 0. Not on the hot path: these allocate strings and are for output, filters and command lines.
 */

export interface ParsedAddr {
  version: 4 | 6;
  /** Big-endian 32-bit words; IPv4 in word 0, words 1..3 zero. */
  words: Uint32Array;
}

/** `addr:port`, an IPv6 address in brackets (RFC 3986 §3.2.2): how logs and summaries name an end of a socket. */
export function withPort(addr: string, port: number, ipVersion: number): string {
  return ipVersion === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Dotted quad, or RFC 5952 text for IPv6 (`ipVersion` 6). Any other version formats as "-". */
export function formatAddr(words: ArrayLike<number>, ipVersion: number): string {
  if (ipVersion === 4) return formatIpv4(words[0]);
  if (ipVersion === 6) return formatIpv6(words);
  return '-';
}

function formatIpv4(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

/**
 * RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or more zero groups (the first one on
 * a tie) shortened to "::". §5: an IPv4-mapped address (::ffff:0:0/96, RFC 4291 §2.5.5.2) ends in a dotted quad.
 */
function formatIpv6(words: ArrayLike<number>): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 4; i++) {
    g[2 * i] = words[i] >>> 16;
    g[2 * i + 1] = words[i] & 0xffff;
  }
  if (words[0] === 0 && words[1] === 0 && g[4] === 0 && g[5] === 0xffff) return `::ffff:${formatIpv4(words[3])}`;

  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/**
 * Parses an IPv4 dotted quad or any RFC 4291 §2.2 IPv6 text form (full, "::"-compressed, with a trailing
 * dotted quad). Returns null for anything else, including zone ids ("fe80::1%eth0") and IPv4 parts with leading
 * zeros (which some parsers read as octal).
 */
export function parseAddr(s: string): ParsedAddr | null {
  if (s.includes(':')) {
    const groups = parseIpv6Groups(s);
    if (groups === null) return null;
    const words = new Uint32Array(4);
    for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
    return { version: 6, words };
  }
  const w = parseIpv4(s);
  if (w === null) return null;
  const words = new Uint32Array(4);
  words[0] = w;
  return { version: 4, words };
}

function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let w = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    w = w * 256 + n;
  }
  return w;
}

/** The eight 16-bit groups of an IPv6 text address, or null. */
function parseIpv6Groups(s: string): number[] | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = parseGroupList(halves[0], halves.length === 1);
  if (head === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const tail = parseGroupList(halves[1], true);
  if (tail === null) return null;
  // "::" stands for at least one zero group (RFC 4291 §2.2 item 2; RFC 5952 §4.2.2 never writes it for one, but
  // parsers accept it).
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Colon-separated hex groups; when `last`, the final element may be a dotted quad (two groups). */
function parseGroupList(s: string, last: boolean): number[] | null {
  if (s === '') return [];
  const parts = s.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (last && i === parts.length - 1 && part.includes('.')) {
      const w = parseIpv4(part);
      if (w === null) return null;
      out.push(w >>> 16, w & 0xffff);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
      out.push(parseInt(part, 16));
    }
  }
  return out;
}
