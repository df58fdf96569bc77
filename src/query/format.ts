/**
 * The pieces of text flowdump's outputs share, each written to print what nfdump 1.7.1 prints for the same flow,
 * so that a user (or a script) can swap one tool for the other: protocol names, TCP flag strings, dates in local
 * time, durations, numbers scaled to M/G/T, and IPv6 addresses shortened to fit a column.
 */
import type { FlowRecord } from '../wire/record.js';

/**
 * nfdump's short protocol names for 0..137 (its display table; numbers above print as the number). The same
 * names are what its filter accepts after `proto`, so both sides use this one list.
 */
const PROTO_NAMES = (
  '0 ICMP IGMP GGP IPIP ST TCP CBT EGP IGP BBN NVPII PUP ARGUS ENCOM XNET CHAOS UDP MUX DCN HMP PRM XNS Trnk1 ' +
  'Trnk2 Leaf1 Leaf2 RDP IRTP ISO-4 NETBK MFESP MEINP DCCP 3PC IDPR XTP DDP IDPR TP++ IL IPv6 SDRP Rte6 Frag6 ' +
  'IDRP RSVP GRE MHRP BNA ESP AH INLSP SWIPE NARP MOBIL TLSP SKIP ICMP6 NOHE6 OPTS6 HOST CFTP NET SATNT KLAN RVD ' +
  'IPPC FS SATM VISA IPCV CPNX CPHB WSN PVP BSATM SUNND WBMON WBEXP ISOIP VMTP SVMTP VINES TTP NSIGP DGP TCF ' +
  'EIGRP OSPF S-RPC LARP MTP AX.25 OS MICP SCCSP ETHIP ENCAP 99 GMTP IFMP PNNI PIM ARIS SCPS QNX A/N IPcmp SNP ' +
  'CpqPP IPXIP VRRP PGM 0hop L2TP DDX IATP STP SRP UTI SMP SM PTP ISIS4 FIRE CRTP CRUDP 128 IPLT SPS PIPE SCTP FC ' +
  '134 MHEAD UDP-L MPLS'
).split(' ');

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** The protocol column: nfdump's name, or the number for protocols it has no name for. */
export function protoName(proto: number, plain = false): string {
  return !plain && proto < PROTO_NAMES.length ? PROTO_NAMES[proto] : String(proto);
}

/** Protocol number for a name as the filter accepts it (case-insensitive), or -1. */
export function protoByName(name: string): number {
  const lower = name.toLowerCase();
  // The IANA keywords for ICMPv6 (RFC 4443), which people type more often than nfdump's "icmp6".
  if (lower === 'ipv6-icmp' || lower === 'icmpv6') return IPPROTO_ICMPV6;
  for (let i = 0; i < PROTO_NAMES.length; i++) {
    // "0", "99", "128", "134" stand for unnamed protocols in the display table, not names.
    if (!/^\d+$/.test(PROTO_NAMES[i]) && PROTO_NAMES[i].toLowerCase() === lower) return i;
  }
  return -1;
}

export function isIcmp(proto: number): boolean {
  return proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
}

/** TCP flags as 8 characters, most significant bit first: C E U A P R S F, '.' where clear. */
export function flagsString(flags: number): string {
  const letters = 'CEUAPRSF';
  let s = '';
  for (let i = 0; i < 8; i++) s += flags & (0x80 >> i) ? letters[i] : '.';
  return s;
}

/** First and last packet of a record in milliseconds, the resolution nfdump keeps and prints. */
export function startMs(r: FlowRecord): number {
  return r.startSec * 1000 + Math.floor(r.startNsec / 1e6);
}
export function endMs(r: FlowRecord): number {
  return r.endSec * 1000 + Math.floor(r.endNsec / 1e6);
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "YYYY-MM-DD hh:mm:ss" in local time (TZ), as nfdump prints; `withMs` appends ".mmm". */
export function formatDate(ms: number, withMs = true): string {
  const d = new Date(ms);
  const base =
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return withMs ? `${base}.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}` : base;
}

/** "YYYY-MM-DDThh:mm:ss.mmm" in local time, the JSON form of nfdump's dates. */
export function formatIsoLocal(ms: number): string {
  return formatDate(ms).replace(' ', 'T');
}

/**
 * A duration as nfdump prints it, always 16 columns wide below a day: "    hh:mm:ss.mmm", or "Nd hh:mm:ss.mmm"
 * from one day up. Computed in whole milliseconds, so no float rounding can print 59.9999 as "60.000".
 */
export function durationString(ms: number): string {
  if (ms < 0) return '-' + durationString(-ms).trimStart();
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const clock = `${two(h)}:${two(m)}:${two(s)}.${String(rest - s * 1000).padStart(3, '0')}`;
  return days === 0 ? `    ${clock}` : `${String(days).padStart(2)}d ${clock}`;
}

/**
 * One decimal, rounded as C's printf("%.1f") rounds: to nearest, and an exact tie to the even digit. JavaScript's
 * toFixed rounds ties up, which would print 2.25 as "2.3" where nfdump prints "2.2". With one decimal the only
 * exact binary ties are fractions .25 and .75.
 */
export function fixed1(x: number): string {
  const q = x * 4;
  if (Number.isInteger(q) && q % 2 !== 0) {
    const down = Math.floor(x * 10) / 10;
    const tenths = Math.round(down * 10);
    return (tenths % 2 === 0 ? down : (tenths + 1) / 10).toFixed(1);
  }
  return x.toFixed(1);
}

/** A counter as nfdump shows it: as is below a million, else "2.8 M", "1.2 G", "3.0 T" (powers of 1000). */
export function scaled(n: number, plain = false): string {
  if (plain || n < 1e6) return String(n);
  if (n >= 1e12) return `${fixed1(n / 1e12)} T`;
  if (n >= 1e9) return `${fixed1(n / 1e9)} G`;
  return `${fixed1(n / 1e6)} M`;
}

/**
 * IPv6 text longer than 16 characters shortened to its first and last seven around "..", as nfdump's line
 * formats do unless asked for full addresses.
 */
export function condense(addr: string, full: boolean): string {
  return full || addr.length <= 16 ? addr : `${addr.slice(0, 7)}..${addr.slice(-7)}`;
}

/** Rates as nfdump derives them: over the duration in seconds, truncated; zero for a zero duration. */
export function perSecond(count: number, durMs: number): number {
  return durMs > 0 ? Math.floor(count / (durMs / 1000)) : 0;
}
export function bitsPerSecond(bytes: number, durMs: number): number {
  return durMs > 0 ? Math.floor((8 * bytes) / (durMs / 1000)) : 0;
}
export function bytesPerPacket(bytes: number, packets: number): number {
  return packets > 0 ? Math.floor(bytes / packets) : 0;
}
