/**
 * Top-N statistics (`-s element[/order...] -n N`) and aggregation (`-A field,...`), in nfdump 1.7.1's layout.
 *
 * -s counts, per value of one element (an address, a port, a protocol, ...), the flows, packets and bytes of
 * the flows that passed the filter, and prints the N largest by each requested order with their share of the
 * total. Elements with two sides ("ip", "port", "as", "vlan", "if") count a flow once under each side's value.
 *
 * -A merges flows that agree on the chosen fields into one record: packets and bytes summed, the earliest first
 * and latest last time, TCP flags OR-ed, flows counted. Fields not chosen are zero in the merged record, as in
 * nfdump (so without "proto" in the key an ICMP type·code prints as a plain port number, as nfdump prints it).
 */
import { formatAddr } from '../decode/address.js';
import { FlowRecord } from '../wire/record.js';
import {
  bitsPerSecond,
  bytesPerPacket,
  condense,
  endMs,
  fixed1,
  formatDate,
  formatIsoLocal,
  perSecond,
  protoName,
  scaled,
  startMs,
} from './format.js';
import { durationText, type TextOptions } from './output.js';
import { maskWords } from './parser.js';

/** nfdump's orders, in the order it prints several of them. */
export const STAT_ORDERS = ['flows', 'packets', 'bytes', 'pps', 'bps', 'bpp'] as const;
export type StatOrder = (typeof STAT_ORDERS)[number];

type Side = 'src' | 'dst';
type NumField = (r: FlowRecord) => number;

interface ElementDef {
  title: string;
  /** Address elements read r.src / r.dst; numeric ones read these fields. */
  addr?: Side[];
  nums?: NumField[];
}

const ELEMENTS: Record<string, ElementDef> = {
  srcip: { title: 'Src IP Addr', addr: ['src'] },
  dstip: { title: 'Dst IP Addr', addr: ['dst'] },
  ip: { title: 'IP Addr', addr: ['src', 'dst'] },
  srcport: { title: 'Src Port', nums: [(r) => r.srcPort] },
  dstport: { title: 'Dst Port', nums: [(r) => r.dstPort] },
  port: { title: 'Port', nums: [(r) => r.srcPort, (r) => r.dstPort] },
  proto: { title: 'Protocol', nums: [(r) => r.protocol] },
  srcas: { title: 'Src AS', nums: [(r) => r.srcAs] },
  dstas: { title: 'Dst AS', nums: [(r) => r.dstAs] },
  as: { title: 'AS', nums: [(r) => r.srcAs, (r) => r.dstAs] },
  srcvlan: { title: 'Src Vlan', nums: [(r) => r.vlan] },
  dstvlan: { title: 'Dst Vlan', nums: [(r) => r.postVlan] },
  vlan: { title: 'Vlan', nums: [(r) => r.vlan, (r) => r.postVlan] },
  inif: { title: 'Input If', nums: [(r) => r.inputIf] },
  outif: { title: 'Output If', nums: [(r) => r.outputIf] },
  if: { title: 'In/Out If', nums: [(r) => r.inputIf, (r) => r.outputIf] },
  tos: { title: 'Tos', nums: [(r) => r.tos] },
};

export interface StatSpec {
  element: string;
  orders: StatOrder[];
}

/** "srcip", "dstport/bytes", "ip/flows/bytes": the element and its orders (default flows), in print order. */
export function parseStatSpec(spec: string): StatSpec {
  const [element, ...orders] = spec.toLowerCase().split('/');
  if (element.includes(':')) throw new Error(`statistic "${spec}": per-protocol statistics (":p") are not supported`);
  if (!(element in ELEMENTS)) {
    throw new Error(`statistic "${spec}": unknown element "${element}" (use ${Object.keys(ELEMENTS).join(', ')})`);
  }
  for (const o of orders) {
    if (!(STAT_ORDERS as readonly string[]).includes(o)) {
      throw new Error(`statistic "${spec}": unknown order "${o}" (use ${STAT_ORDERS.join(', ')})`);
    }
  }
  const wanted = orders.length > 0 ? orders : ['flows'];
  return { element, orders: STAT_ORDERS.filter((o) => wanted.includes(o)) };
}

/** Counters of one value of a statistic. */
export interface Entry {
  version: number;
  words: Uint32Array | null;
  value: number;
  flows: number;
  packets: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
}

/** Counters of one -s statistic. Keys are numbers (ports, IPv4 addresses) or, for IPv6, the four words. */
export class StatTable {
  private readonly def: ElementDef;
  private readonly entries = new Map<number | string, Entry>();

  constructor(readonly spec: StatSpec) {
    this.def = ELEMENTS[spec.element];
  }

  add(r: FlowRecord): void {
    const first = startMs(r);
    const last = endMs(r);
    if (this.def.addr) {
      for (const side of this.def.addr) {
        const w = side === 'src' ? r.src : r.dst;
        const key = r.ipVersion === 6 ? `${w[0]}:${w[1]}:${w[2]}:${w[3]}` : w[0];
        let e = this.entries.get(key);
        if (e === undefined) {
          e = newEntry(r.ipVersion, Uint32Array.from(w), 0);
          this.entries.set(key, e);
        }
        count(e, r, first, last);
      }
    } else {
      for (const f of this.def.nums!) {
        const v = f(r);
        let e = this.entries.get(v);
        if (e === undefined) {
          e = newEntry(0, null, v);
          this.entries.set(v, e);
        }
        count(e, r, first, last);
      }
    }
  }

  /** The entries ranked by one order, the top N (all when N is 0); ties keep first-seen order. */
  ranked(order: StatOrder, topN: number): Entry[] {
    const value = orderValue(order);
    return [...this.entries.values()]
      .map((e, i) => ({ e, i, v: value(e) }))
      .sort((a, b) => b.v - a.v || a.i - b.i)
      .slice(0, topN > 0 ? topN : undefined)
      .map((x) => x.e);
  }

  /**
   * The statistic as nfdump prints it, once per order: a title ("Top 10 Src IP Addr ordered by flows:"), the
   * column header, the rows and an empty line. `quiet` (-q) leaves out titles and headers, not the empty line.
   */
  textReport(topN: number, total: Totals3, o: TextOptions, quiet: boolean): string[] {
    const lines: string[] = [];
    for (const order of this.spec.orders) {
      if (!quiet) {
        lines.push(`Top ${topN > 0 ? `${topN} ` : ''}${this.def.title} ordered by ${order}:`);
        lines.push(statHeader(this.def.title));
      }
      for (const e of this.ranked(order, topN)) lines.push(this.textRow(e, total, o));
      lines.push('');
    }
    return lines;
  }

  /** nfdump's csv form of a statistic: a header, then per order its rows and an empty line. */
  csvReport(topN: number, total: Totals3): string[] {
    const lines: string[] = [];
    for (const order of this.spec.orders) {
      lines.push('ts,te,td,pr,val,fl,flP,ipkt,ipktP,ibyt,ibytP,ipps,ibps,ibpp');
      for (const e of this.ranked(order, topN)) {
        const dur = e.lastMs - e.firstMs;
        lines.push(
          [
            formatDate(e.firstMs, false),
            formatDate(e.lastMs, false),
            (dur / 1000).toFixed(3),
            this.protoText(e, false),
            this.keyText(e, true),
            e.flows,
            fixed1(share(e.flows, total.flows)),
            e.packets,
            fixed1(share(e.packets, total.packets)),
            e.bytes,
            fixed1(share(e.bytes, total.bytes)),
            perSecond(e.packets, dur),
            bitsPerSecond(e.bytes, dur),
            bytesPerPacket(e.bytes, e.packets),
          ].join(','),
        );
      }
      lines.push('');
    }
    return lines;
  }

  /** One JSON object per ranked entry (NDJSON), naming the statistic, the order and the rank. */
  jsonReport(topN: number, total: Totals3): string[] {
    const lines: string[] = [];
    for (const order of this.spec.orders) {
      this.ranked(order, topN).forEach((e, i) => {
        const dur = e.lastMs - e.firstMs;
        lines.push(
          JSON.stringify({
            type: 'STAT',
            element: this.spec.element,
            order,
            rank: i + 1,
            value: e.words ? this.keyText(e, true) : e.value,
            first: formatIsoLocal(e.firstMs),
            last: formatIsoLocal(e.lastMs),
            flows: e.flows,
            flows_pct: Number(fixed1(share(e.flows, total.flows))),
            packets: e.packets,
            packets_pct: Number(fixed1(share(e.packets, total.packets))),
            bytes: e.bytes,
            bytes_pct: Number(fixed1(share(e.bytes, total.bytes))),
            pps: perSecond(e.packets, dur),
            bps: bitsPerSecond(e.bytes, dur),
            bpp: bytesPerPacket(e.bytes, e.packets),
          }),
        );
      });
    }
    return lines;
  }

  private keyText(e: Entry, full: boolean): string {
    return e.words ? condense(formatAddr(e.words, e.version), full) : String(e.value);
  }

  private protoText(e: Entry, plain: boolean): string {
    return this.spec.element === 'proto' ? protoName(e.value, plain) : 'any';
  }

  private textRow(e: Entry, total: Totals3, o: TextOptions): string {
    const dur = e.lastMs - e.firstMs;
    const pct = (v: number, of: number): string => fixed1(share(v, of)).padStart(4);
    return (
      `${formatDate(e.firstMs)} ${durationText(dur, o.plain)} ${this.protoText(e, o.plain).padEnd(5)} ` +
      `${this.keyText(e, false).padStart(17)} ` +
      `${scaled(e.flows, o.plain).padStart(8)}(${pct(e.flows, total.flows)}) ` +
      `${scaled(e.packets, o.plain).padStart(8)}(${pct(e.packets, total.packets)}) ` +
      `${scaled(e.bytes, o.plain).padStart(8)}(${pct(e.bytes, total.bytes)}) ` +
      `${scaled(perSecond(e.packets, dur), o.plain).padStart(8)} ` +
      `${scaled(bitsPerSecond(e.bytes, dur), o.plain).padStart(8)} ` +
      `${String(bytesPerPacket(e.bytes, e.packets)).padStart(5)}`
    );
  }
}

/** The totals percentages are taken of: all flows, packets and bytes that passed the filter. */
export interface Totals3 {
  flows: number;
  packets: number;
  bytes: number;
}

function share(v: number, of: number): number {
  return of > 0 ? (v * 100) / of : 0;
}

function newEntry(version: number, words: Uint32Array | null, value: number): Entry {
  return { version, words, value, flows: 0, packets: 0, bytes: 0, firstMs: Infinity, lastMs: -Infinity };
}

function count(e: Entry, r: FlowRecord, first: number, last: number): void {
  e.flows++;
  e.packets += r.packets;
  e.bytes += r.octets;
  if (first < e.firstMs) e.firstMs = first;
  if (last > e.lastMs) e.lastMs = last;
}

function orderValue(order: StatOrder): (e: Entry) => number {
  switch (order) {
    case 'flows':
      return (e) => e.flows;
    case 'packets':
      return (e) => e.packets;
    case 'bytes':
      return (e) => e.bytes;
    case 'pps':
      return (e) => perSecond(e.packets, e.lastMs - e.firstMs);
    case 'bps':
      return (e) => bitsPerSecond(e.bytes, e.lastMs - e.firstMs);
    case 'bpp':
      return (e) => bytesPerPacket(e.bytes, e.packets);
  }
}

function statHeader(title: string): string {
  return (
    `Date first seen                 Duration Proto ${title.padStart(17)}` +
    '    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp'
  );
}

// ---- aggregation

interface AggField {
  /** nfdump format tag that prints this field. */
  tag: string;
  /** Appends this field's part of the key. */
  key(r: FlowRecord): string;
  /** Copies (masked) the field into the merged record. */
  copy(from: FlowRecord, to: FlowRecord): void;
}

function numField(tag: string, get: (r: FlowRecord) => number, set: (r: FlowRecord, v: number) => void): AggField {
  return { tag, key: (r) => String(get(r)), copy: (f, t) => set(t, get(f)) };
}

/** Address field, optionally masked to a prefix for one family (srcip4/24 leaves IPv6 addresses whole). */
function addrField(side: Side, bits4: number, bits6: number): AggField {
  const mask4 = maskWords(bits4);
  const mask6 = maskWords(bits6);
  const masked = (r: FlowRecord, k: number): number => {
    const w = side === 'src' ? r.src[k] : r.dst[k];
    return (w & (r.ipVersion === 6 ? mask6[k] : mask4[k])) >>> 0;
  };
  return {
    tag: side === 'src' ? 'sa' : 'da',
    key: (r) => `${r.ipVersion}/${masked(r, 0)}.${masked(r, 1)}.${masked(r, 2)}.${masked(r, 3)}`,
    copy: (f, t) => {
      t.ipVersion = f.ipVersion;
      const dst = side === 'src' ? t.src : t.dst;
      for (let k = 0; k < 4; k++) dst[k] = masked(f, k);
    },
  };
}

const AGG_FIELDS: Record<string, () => AggField> = {
  srcport: () => numField('sp', (r) => r.srcPort, (r, v) => (r.srcPort = v)),
  dstport: () => numField('dp', (r) => r.dstPort, (r, v) => (r.dstPort = v)),
  proto: () => numField('pr', (r) => r.protocol, (r, v) => (r.protocol = v)),
  srcas: () => numField('sas', (r) => r.srcAs, (r, v) => (r.srcAs = v)),
  dstas: () => numField('das', (r) => r.dstAs, (r, v) => (r.dstAs = v)),
  inif: () => numField('in', (r) => r.inputIf, (r, v) => (r.inputIf = v)),
  outif: () => numField('out', (r) => r.outputIf, (r, v) => (r.outputIf = v)),
  srcvlan: () => numField('svln', (r) => r.vlan, (r, v) => (r.vlan = v)),
  dstvlan: () => numField('dvln', (r) => r.postVlan, (r, v) => (r.postVlan = v)),
  tos: () => numField('tos', (r) => r.tos, (r, v) => (r.tos = v)),
};

/** The -a key: nfdump's 5-tuple. */
export const FIVE_TUPLE = 'srcip,dstip,srcport,dstport,proto';

/**
 * Parses "srcip,dstport" or "srcip4/24,dstip6/64" into fields, in the order given. srcip4/N and srcip6/N name
 * the same source address field (one prefix per family), so "srcip4/24,srcip6/64" is one field.
 */
export function parseAggregation(spec: string): AggField[] {
  const slots: Array<AggField | { side: Side; bits4: number; bits6: number }> = [];
  const addr: Partial<Record<Side, { side: Side; bits4: number; bits6: number }>> = {};
  for (const raw of spec.split(',').map((s) => s.trim().toLowerCase())) {
    const m = /^(src|dst)ip(?:([46])\/(\d{1,3}))?$/.exec(raw);
    if (m) {
      const side = m[1] as Side;
      let a = addr[side];
      if (a === undefined) {
        a = addr[side] = { side, bits4: 32, bits6: 128 };
        slots.push(a);
      }
      if (m[2] !== undefined) {
        const max = m[2] === '4' ? 32 : 128;
        const bits = Number(m[3]);
        if (bits < 1 || bits > max) throw new Error(`aggregation "${raw}": prefix length must be 1..${max}`);
        if (m[2] === '4') a.bits4 = bits;
        else a.bits6 = bits;
      }
      continue;
    }
    const make = AGG_FIELDS[raw];
    if (make === undefined) {
      throw new Error(
        `aggregation: unknown field "${raw}" (use srcip, dstip, ${Object.keys(AGG_FIELDS).join(', ')}, srcip4/N, srcip6/N, dstip4/N, dstip6/N)`,
      );
    }
    slots.push(make());
  }
  return slots.map((s) => ('side' in s ? addrField(s.side, s.bits4, s.bits6) : s));
}

/** nfdump's automatic layout for -A: time, duration, the key fields, then the counters. */
export function aggregationLayout(fields: readonly AggField[]): string {
  return `%ts %td  ${fields.map((f) => '%' + f.tag).join(' ')}  %pkt %byt %bps %bpp %fl`;
}

export interface Aggregate {
  rec: FlowRecord;
  flows: number;
}

/** Merges flows by key; aggregates come out in the order their keys were first seen. */
export class Aggregator {
  private readonly groups = new Map<string, Aggregate>();

  constructor(private readonly fields: readonly AggField[]) {}

  add(r: FlowRecord): void {
    let key = '';
    for (const f of this.fields) key += f.key(r) + '|';
    let g = this.groups.get(key);
    if (g === undefined) {
      const rec = new FlowRecord();
      rec.ipVersion = r.ipVersion;
      for (const f of this.fields) f.copy(r, rec);
      rec.startSec = r.startSec;
      rec.startNsec = r.startNsec;
      rec.endSec = r.endSec;
      rec.endNsec = r.endNsec;
      g = { rec, flows: 0 };
      this.groups.set(key, g);
    } else {
      const a = g.rec;
      if (r.startSec < a.startSec || (r.startSec === a.startSec && r.startNsec < a.startNsec)) {
        a.startSec = r.startSec;
        a.startNsec = r.startNsec;
      }
      if (r.endSec > a.endSec || (r.endSec === a.endSec && r.endNsec > a.endNsec)) {
        a.endSec = r.endSec;
        a.endNsec = r.endNsec;
      }
    }
    const a = g.rec;
    a.packets += r.packets;
    a.octets += r.octets;
    a.revPackets += r.revPackets;
    a.revOctets += r.revOctets;
    a.tcpFlags |= r.tcpFlags;
    g.flows++;
  }

  results(): Aggregate[] {
    return [...this.groups.values()];
  }
}
