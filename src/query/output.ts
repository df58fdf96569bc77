/**
 * flowdump's record outputs: `line`, `long`, `extended` and `fmt:` (nfdump's column layouts, headers and footer,
 * byte for byte), `csv` (nfdump 1.7.1's columns) and `json` (NDJSON: one object per flow per line).
 *
 * The text layouts are built from nfdump's format tags (%ts %td %pr %sap ...): each tag has a header of the same
 * width as its cells, and the text between tags is copied into rows and shows as spaces in the header. So
 * `line` is "%ts %td %pr %sap -> %dap %pkt %byt %fl", and `-o "fmt:%ts %sa %byt"` works for any tag below.
 */
import { formatAddr } from '../decode/address.js';
import type { FlowRecord } from '../wire/record.js';
import {
  bitsPerSecond,
  bytesPerPacket,
  condense,
  durationString,
  endMs,
  flagsString,
  formatDate,
  formatIsoLocal,
  isIcmp,
  perSecond,
  protoName,
  scaled,
  startMs,
} from './format.js';

export interface TextOptions {
  /** -N: counters as plain numbers, protocols as numbers (nfdump's printPlain). */
  plain: boolean;
}

type Cell = (r: FlowRecord, flows: number, o: TextOptions) => string;

interface Tag {
  head: string;
  cell: Cell;
}

function duration(r: FlowRecord): number {
  return endMs(r) - startMs(r);
}

/** The duration column: hh:mm:ss.mmm, or with -N plain seconds ("0.153"), 16 wide either way as in nfdump. */
export function durationText(ms: number, plain: boolean): string {
  return plain ? (ms / 1000).toFixed(3).padStart(16) : durationString(ms);
}

/** "addr:port" in nfdump's 22 columns; IPv6 is shortened and takes '.' before the port (its ':' is taken). */
function addrPort(words: Uint32Array, version: number, port: string): string {
  const sep = version === 6 ? '.' : ':';
  return `${condense(formatAddr(words, version), false).padStart(16)}${sep}${port.padEnd(5)}`;
}

/** The destination port as nfdump shows it: ICMP type.code, else the number. */
function dstPortText(r: FlowRecord): string {
  return isIcmp(r.protocol) ? `${r.dstPort >>> 8}.${r.dstPort & 0xff}` : String(r.dstPort);
}

const TAGS: Record<string, Tag> = {
  ts: { head: 'Date first seen        ', cell: (r) => formatDate(startMs(r)) },
  te: { head: 'Date last seen         ', cell: (r) => formatDate(endMs(r)) },
  td: { head: '    Duration    ', cell: (r, _f, o) => durationText(duration(r), o.plain) },
  pr: { head: 'Proto', cell: (r, _f, o) => protoName(r.protocol, o.plain).padEnd(5) },
  sa: { head: '     Src IP Addr', cell: (r) => condense(formatAddr(r.src, r.ipVersion), false).padStart(16) },
  da: { head: '     Dst IP Addr', cell: (r) => condense(formatAddr(r.dst, r.ipVersion), false).padStart(16) },
  sap: { head: '     Src IP Addr:Port ', cell: (r) => addrPort(r.src, r.ipVersion, String(r.srcPort)) },
  dap: { head: '     Dst IP Addr:Port ', cell: (r) => addrPort(r.dst, r.ipVersion, dstPortText(r)) },
  sp: { head: 'Src Pt', cell: (r) => String(r.srcPort).padStart(6) },
  dp: { head: 'Dst Pt', cell: (r) => dstPortText(r).padStart(6) },
  flg: { head: '   Flags', cell: (r) => flagsString(r.tcpFlags) },
  tos: { head: 'Tos', cell: (r) => String(r.tos).padStart(3) },
  stos: { head: 'STos', cell: (r) => String(r.tos).padStart(4) },
  pkt: { head: ' Packets', cell: (r, _f, o) => scaled(r.packets, o.plain).padStart(8) },
  byt: { head: '   Bytes', cell: (r, _f, o) => scaled(r.octets, o.plain).padStart(8) },
  pps: { head: '     pps', cell: (r, _f, o) => scaled(perSecond(r.packets, duration(r)), o.plain).padStart(8) },
  bps: { head: '     bps', cell: (r, _f, o) => scaled(bitsPerSecond(r.octets, duration(r)), o.plain).padStart(8) },
  bpp: { head: '   Bpp', cell: (r) => String(bytesPerPacket(r.octets, r.packets)).padStart(6) },
  fl: { head: 'Flows', cell: (_r, flows) => String(flows).padStart(5) },
  in: { head: ' Input', cell: (r) => String(r.inputIf).padStart(6) },
  out: { head: 'Output', cell: (r) => String(r.outputIf).padStart(6) },
  sas: { head: 'Src AS', cell: (r) => String(r.srcAs).padStart(6) },
  das: { head: 'Dst AS', cell: (r) => String(r.dstAs).padStart(6) },
  smk: { head: 'SMask', cell: (r) => String(r.srcMask).padStart(5) },
  dmk: { head: 'DMask', cell: (r) => String(r.dstMask).padStart(5) },
  svln: { head: 'SVlan', cell: (r) => String(r.vlan).padStart(5) },
  dvln: { head: 'DVlan', cell: (r) => String(r.postVlan).padStart(5) },
};

/** The named layouts, as nfdump 1.7.1 defines them. */
export const FORMATS: Record<string, string> = {
  line: '%ts %td %pr %sap -> %dap %pkt %byt %fl',
  long: '%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %fl',
  extended: '%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %pps %bps %bpp %fl',
};

export interface TextLayout {
  header: string;
  row(r: FlowRecord, flows: number): string;
}

/** Compiles a format string of %tags and literal text; an unknown tag is an error naming it. */
export function compileLayout(spec: string, o: TextOptions): TextLayout {
  const parts: Array<string | Tag> = [];
  const names = Object.keys(TAGS).sort((a, b) => b.length - a.length);
  let i = 0;
  let literal = '';
  while (i < spec.length) {
    if (spec[i] === '%') {
      // Longest tag first, so "%sap" is not read as "%sa" followed by "p".
      const name = names.find((n) => spec.startsWith(n, i + 1));
      if (name === undefined) {
        const bad = /^%[a-z0-9]*/i.exec(spec.slice(i))![0];
        throw new Error(`unknown format tag "${bad}" (known: ${Object.keys(TAGS).map((n) => '%' + n).join(' ')})`);
      }
      if (literal) parts.push(literal);
      literal = '';
      parts.push(TAGS[name]);
      i += 1 + name.length;
    } else {
      literal += spec[i++];
    }
  }
  if (literal) parts.push(literal);
  const header = parts.map((p) => (typeof p === 'string' ? ' '.repeat(p.length) : p.head)).join('');
  return {
    header,
    row(r, flows) {
      let s = '';
      for (const p of parts) s += typeof p === 'string' ? p : p.cell(r, flows, o);
      return s;
    },
  };
}

/** What a run hands the footer: totals of the flows that passed and of everything read. */
export interface Totals {
  /** Flows, bytes and packets that passed, and their first/last times in ms (for the averages). */
  flows: number;
  bytes: number;
  packets: number;
  firstMs: number;
  lastMs: number;
  /** Records read, and the first and last time among them (nfdump's "Time window"). */
  processed: number;
  windowFirstMs: number;
  windowLastMs: number;
  bytesRead: number;
  /** CPU and wall time of the run, in seconds. */
  sysSec: number;
  userSec: number;
  wallSec: number;
}

export function emptyTotals(): Totals {
  return {
    flows: 0,
    bytes: 0,
    packets: 0,
    firstMs: Infinity,
    lastMs: -Infinity,
    processed: 0,
    windowFirstMs: Infinity,
    windowLastMs: -Infinity,
    bytesRead: 0,
    sysSec: 0,
    userSec: 0,
    wallSec: 0,
  };
}

/**
 * Averages over the passed flows' span, as nfdump's summary computes them: all three are 0 when the span is 0
 * (nfdump 1.7.1 prints "avg bpp: 0" for a single one-packet flow, measured).
 */
function averages(t: Totals): { bps: number; pps: number; bpp: number } {
  const span = t.flows > 0 ? t.lastMs - t.firstMs : 0;
  if (span <= 0) return { bps: 0, pps: 0, bpp: 0 };
  return { bps: bitsPerSecond(t.bytes, span), pps: perSecond(t.packets, span), bpp: bytesPerPacket(t.bytes, t.packets) };
}

/** nfdump's four-line footer of the text formats. */
export function textFooter(t: Totals, o: TextOptions): string[] {
  const a = averages(t);
  const n = (x: number): string => scaled(x, o.plain);
  const window =
    t.processed > 0
      ? `${formatDate(t.windowFirstMs, false)} - ${formatDate(t.windowLastMs, false)}`
      : 'Time Window unknown';
  const rate = t.wallSec > 0 ? t.processed / t.wallSec : 0;
  return [
    `Summary: total flows: ${t.flows}, total bytes: ${n(t.bytes)}, total packets: ${n(t.packets)}, ` +
      `avg bps: ${n(a.bps)}, avg pps: ${n(a.pps)}, avg bpp: ${n(a.bpp)}`,
    `Time window: ${window}`,
    // flowdump reads whole files and skips no blocks; the count is kept so scripts reading nfdump's line work.
    `Total flows processed: ${t.processed}, passed: ${t.flows}, Blocks skipped: 0, Bytes read: ${t.bytesRead}`,
    `Sys: ${t.sysSec.toFixed(4)}s User: ${t.userSec.toFixed(4)}s Wall: ${t.wallSec.toFixed(4)}s ` +
      `flows/second: ${rate.toFixed(1)} Runtime: ${t.wallSec.toFixed(4)}s`,
  ];
}

/** A record output: optional header lines, one line per record, what to say when nothing passed, a footer. */
export interface Printer {
  header(): string[];
  record(r: FlowRecord, flows: number): string;
  noMatch(): string[];
  footer(t: Totals): string[];
}

export function textPrinter(spec: string, o: TextOptions): Printer {
  const layout = compileLayout(spec, o);
  return {
    header: () => [layout.header],
    record: (r, flows) => layout.row(r, flows),
    noMatch: () => ['No matching flows'],
    footer: (t) => textFooter(t, o),
  };
}

/**
 * nfdump 1.7.1's csv columns, in its order. flowprobe's records do not carry the forwarding status (fwd), the
 * destination ToS (dtos), the BGP next hop (nhb), the latencies (cl sl al), the engine (eng exid) or the receive
 * time (tr): those columns print as nfdump prints an absent value (0, 0.0.0.0, 0/0, the epoch). The exporter (ra)
 * is printed when the record came through flowcapd.
 */
export const CSV_HEADER =
  'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,' +
  'ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr';

/** A MAC from FlowRecord's halves: the top 16 bits and the low 32 bits. */
function mac(hi: number, lo: number): string {
  const hex = (hi & 0xffff).toString(16).padStart(4, '0') + (lo >>> 0).toString(16).padStart(8, '0');
  return hex.match(/../g)!.join(':');
}

/** An MPLS shim as nfdump prints it: label-exp-bottom. */
function mplsText(r: FlowRecord, i: number): string {
  if (i >= r.mplsDepth) return '0-0-0';
  const s = r.mpls[i];
  return `${s >>> 12}-${(s >>> 9) & 7}-${(s >>> 8) & 1}`;
}

function nextHopText(r: FlowRecord): string {
  const nh = r.nextHop;
  if ((nh[0] | nh[1] | nh[2] | nh[3]) === 0) return '0.0.0.0';
  return formatAddr(nh, nh[1] | nh[2] | nh[3] ? 6 : r.ipVersion);
}

/** The exporter that sent the record (nfdump's "ra", router address), as flowcapd stored it. */
function exporterText(r: FlowRecord): string {
  return r.exporterVersion ? formatAddr(r.exporter, r.exporterVersion) : '0.0.0.0';
}

export function csvRecord(r: FlowRecord, o: TextOptions): string {
  const s = startMs(r);
  const e = endMs(r);
  const cols = [
    formatDate(s, false),
    formatDate(e, false),
    ((e - s) / 1000).toFixed(3),
    formatAddr(r.src, r.ipVersion),
    formatAddr(r.dst, r.ipVersion),
    r.srcPort,
    r.dstPort,
    protoName(r.protocol, o.plain),
    flagsString(r.tcpFlags),
    0,
    r.tos,
    r.packets,
    r.octets,
    r.revPackets,
    r.revOctets,
    r.inputIf,
    r.outputIf,
    r.srcAs,
    r.dstAs,
    r.srcMask,
    r.dstMask,
    0,
    r.direction,
    nextHopText(r),
    '0.0.0.0',
    r.vlan,
    r.postVlan,
    mac(r.srcMacHi, r.srcMacLo),
    '00:00:00:00:00:00',
    mac(r.dstMacHi, r.dstMacLo),
    '00:00:00:00:00:00',
  ];
  for (let i = 0; i < 10; i++) cols.push(mplsText(r, i));
  cols.push('    0.000', '    0.000', '    0.000', exporterText(r), '0/0', 0, formatDate(0));
  return cols.join(',');
}

export function csvPrinter(o: TextOptions): Printer {
  return {
    header: () => [CSV_HEADER],
    record: (r) => csvRecord(r, o),
    noMatch: () => ['No matching flows'],
    footer: (t) => {
      const a = averages(t);
      return ['Summary', 'flows,bytes,packets,avg_bps,avg_pps,avg_bpp', [t.flows, t.bytes, t.packets, a.bps, a.pps, a.bpp].join(',')];
    },
  };
}

/**
 * One flow as a JSON object on one line. Keys are nfdump's json keys where it has one (first, last, in_packets,
 * src4_addr, icmp_type, ...); times are local time like every other output (set TZ=UTC for UTC). MACs, MPLS and
 * a biflow's reverse counters appear only when the record has them; `flows` only for aggregated records.
 */
export function jsonRecord(r: FlowRecord, flows: number | null): string {
  const o: Record<string, unknown> = {
    type: 'FLOW',
    first: formatIsoLocal(startMs(r)),
    last: formatIsoLocal(endMs(r)),
    in_packets: r.packets,
    in_bytes: r.octets,
  };
  if (r.revPackets || r.revOctets) {
    o.out_packets = r.revPackets;
    o.out_bytes = r.revOctets;
  }
  if (flows !== null) o.flows = flows;
  o.proto = r.protocol;
  o.tcp_flags = flagsString(r.tcpFlags);
  if (isIcmp(r.protocol)) {
    o.icmp_type = r.dstPort >>> 8;
    o.icmp_code = r.dstPort & 0xff;
  } else {
    o.src_port = r.srcPort;
    o.dst_port = r.dstPort;
  }
  o.src_tos = r.tos;
  const fam = r.ipVersion === 6 ? '6' : '4';
  o[`src${fam}_addr`] = formatAddr(r.src, r.ipVersion);
  o[`dst${fam}_addr`] = formatAddr(r.dst, r.ipVersion);
  o.input_snmp = r.inputIf;
  o.output_snmp = r.outputIf;
  o.src_mask = r.srcMask;
  o.dst_mask = r.dstMask;
  o.src_as = r.srcAs;
  o.dst_as = r.dstAs;
  o.direction = r.direction;
  o.src_vlan = r.vlan;
  o.dst_vlan = r.postVlan;
  if ((r.nextHop[0] | r.nextHop[1] | r.nextHop[2] | r.nextHop[3]) !== 0) o.next_hop = nextHopText(r);
  if (r.srcMacHi || r.srcMacLo) o.in_src_mac = mac(r.srcMacHi, r.srcMacLo);
  if (r.dstMacHi || r.dstMacLo) o.in_dst_mac = mac(r.dstMacHi, r.dstMacLo);
  if (r.mplsDepth > 0) o.mpls = Array.from({ length: r.mplsDepth }, (_, i) => mplsText(r, i));
  if (r.endReason) o.end_reason = r.endReason;
  // nfdump's key for the exporter's address.
  if (r.exporterVersion) o[r.exporterVersion === 6 ? 'ip6_router' : 'ip4_router'] = exporterText(r);
  return JSON.stringify(o);
}

export function jsonPrinter(aggregated: boolean): Printer {
  return {
    header: () => [],
    record: (r, flows) => jsonRecord(r, aggregated ? flows : null),
    noMatch: () => [],
    footer: () => [],
  };
}

/** The printer for an `-o` value; throws with the list of formats for an unknown one. */
export function printerFor(format: string, o: TextOptions, aggregated = false): Printer {
  if (format.startsWith('fmt:')) return textPrinter(format.slice(4), o);
  if (format in FORMATS) return textPrinter(FORMATS[format], o);
  if (format === 'csv') return csvPrinter(o);
  if (format === 'json') return jsonPrinter(aggregated);
  throw new Error(`unknown output format "${format}" (use line, long, extended, csv, json or fmt:<tags>)`);
}
