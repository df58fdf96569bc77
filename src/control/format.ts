/**
 * The text softflowd 1.1.0 prints for its control commands (reference softflowd.md §2.2–2.5), with the program
 * name and pid as parameters: flowprobe answers as "flowprobe[pid]", and the same functions reproduce softflowd's
 * own text byte for byte, which is how the tests check the layout. Protocols are always named (protocols.ts).
 *
 * Deliberate difference: dump-flows rounds times to the millisecond with a carry, where softflowd can print
 * ".1000".
 */
import { formatAddr } from '../decode/address.js';
import { REASON_NAMES } from '../flow/expiry.js';
import type { FlowSnapshot, Timeouts } from './handler.js';
import { ipProtocolLabel, ipProtocolName } from '../decode/protocols.js';
import { REASON_KEYS, emptyReasons, type MinAvgMax, type StatsReport } from './report.js';

/** softflowd's reply to `help` (it lists the words it knows); ours adds the JSON statistics. */
export const HELP_TEXT =
  'Valid control words are:\n' +
  '\tdebug+ debug- delete-all dump-flows exit expire-all\n' +
  '\tshutdown start-gather statistics stop-gather timeouts\n' +
  '\tsend-template statistics-json\n';

/** "flowprobe[1234]: text\n": the form of every one-line reply. */
export function replyLine(daemon: string, pid: number, text: string): string {
  return `${daemon}[${pid}]: ${text}\n`;
}

/** softflowd's answer to a word it does not know. */
export function unknownCommandLine(cmd: string): string {
  return `Unknown control command "${cmd}"\n`;
}

// --- printf ---------------------------------------------------------------------------------------------------

/**
 * C's "%.Nf". Number.prototype.toFixed rounds an exact tie away from zero where glibc rounds it to even
 * (printf("%.2f", 0.125) is "0.12", (0.125).toFixed(2) is "0.13"), and durations such as 0.125 s are exact
 * binary fractions, so ties do occur. A double's decimal expansion ends within ~60 digits for any value that can
 * tie at 0..2 decimals, so toFixed(digits + 60) shows the exact value.
 */
export function cFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const plain = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return plain;
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(rest)) return plain;
  // A tie: toFixed went away from zero; glibc keeps the even neighbour.
  const kept = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
  if (Number(kept[kept.length - 1]) % 2 === 1) return plain;
  return (x < 0 ? '-' : '') + kept;
}

function pad(s: string, width: number): string {
  return s.padStart(width, ' ');
}

/** An integer counter as %llu prints it. */
function u(n: number): string {
  return String(Math.trunc(n));
}

// --- statistics -----------------------------------------------------------------------------------------------

/** `statistics`, laid out exactly as softflowd's statistics() prints it (softflowd.c 1097–1179). */
export function formatStatistics(r: StatsReport): string {
  const out: string[] = [];
  out.push(`${r.daemon}[${r.pid}]: Accumulated statistics since ${r.since.slice(0, 19)} UTC:`);
  out.push(`Number of active flows: ${u(r.activeFlows)}`);
  out.push(`Packets processed: ${u(r.packetsProcessed)}`);
  if (r.packetsNonSampled !== 0) out.push(`Packets non-sampled: ${u(r.packetsNonSampled)}`);
  out.push(`Fragments: ${u(r.fragments)}`);
  out.push(
    `Ignored packets: ${u(r.ignoredNonIp + r.ignoredTooShort)} (${u(r.ignoredNonIp)} non-IP, ${u(r.ignoredTooShort)} too short)`,
  );
  out.push(`Flows expired: ${u(r.flowsExpired)} (${u(r.flowsExpiredForced)} forced)`);
  out.push(
    `Flows exported: ${u(r.flowsExported)} (${u(r.recordsExported)} records) in ${u(r.exportPackets)} packets (${u(r.exportFailures)} failures)`,
  );
  if (r.libpcap) {
    out.push(`Packets received by libpcap: ${u(r.libpcap.received)}`);
    out.push(`Packets dropped by libpcap: ${u(r.libpcap.dropped)}`);
    out.push(`Packets dropped by interface: ${u(r.libpcap.ifDropped)}`);
  }
  out.push('');
  if (r.flowsExpired !== 0 && r.expiredFlows) {
    const e = r.expiredFlows;
    const row0 = (m: MinAvgMax): string => `${pad(cFixed(m.min, 0), 12)}  ${pad(cFixed(m.avg, 0), 12)}  ${pad(cFixed(m.max, 0), 12)}`;
    const row2 = (m: MinAvgMax): string =>
      `${pad(cFixed(m.min, 2), 12)}s ${pad(cFixed(m.avg, 2), 12)}s ${pad(cFixed(m.max, 2), 12)}s`;
    out.push('Expired flow statistics:  minimum       average       maximum');
    out.push(`  Flow bytes:        ${row0(e.bytes)}`);
    out.push(`  Flow packets:      ${row0(e.packets)}`);
    out.push(`  Duration:          ${row2(e.durationSec)}`);
    out.push('');
    const x = r.expiryReasons;
    const c = (n: number): string => pad(u(n), 9);
    out.push('Expired flow reasons:');
    out.push(`       tcp = ${c(x.tcp)}   tcp.rst = ${c(x.tcpRst)}   tcp.fin = ${c(x.tcpFin)}`);
    out.push(`       udp = ${c(x.udp)}      icmp = ${c(x.icmp)}   general = ${c(x.general)}`);
    out.push(`   maxlife = ${c(x.maxlife)}`);
    out.push(`over 2 GiB = ${c(x.over2GiB)}`);
    out.push(`  maxflows = ${c(x.maxflows)}`);
    out.push(`   flushed = ${c(x.flushed)}`);
    out.push('');
    out.push('Per-protocol statistics:     Octets      Packets   Avg Life    Max Life');
    for (const p of [...r.protocols].sort((a, b) => a.protocol - b.protocol)) {
      if (p.packets <= 0) continue;
      out.push(
        `  ${pad(ipProtocolLabel(p.protocol), 17)}: ${pad(u(p.octets), 14)} ${pad(u(p.packets), 12)}   ` +
          `${pad(cFixed(p.avgLifeSec, 2), 8)}s ${pad(cFixed(p.maxLifeSec, 2), 10)}s`,
      );
    }
  }
  return out.join('\n') + '\n';
}

const NUM = '(-?\\d+)';
const REAL = '(-?[\\d.]+|inf|nan)';
const STAT_LINES: { re: RegExp; set: (r: StatsReport, m: RegExpMatchArray) => void }[] = [
  { re: new RegExp(`^Number of active flows: ${NUM}$`), set: (r, m) => (r.activeFlows = +m[1]) },
  { re: new RegExp(`^Packets processed: ${NUM}$`), set: (r, m) => (r.packetsProcessed = +m[1]) },
  { re: new RegExp(`^Packets non-sampled: ${NUM}$`), set: (r, m) => (r.packetsNonSampled = +m[1]) },
  { re: new RegExp(`^Fragments: ${NUM}$`), set: (r, m) => (r.fragments = +m[1]) },
  {
    re: new RegExp(`^Ignored packets: ${NUM} \\(${NUM} non-IP, ${NUM} too short\\)$`),
    set: (r, m) => ((r.ignoredPackets = +m[1]), (r.ignoredNonIp = +m[2]), (r.ignoredTooShort = +m[3])),
  },
  {
    re: new RegExp(`^Flows expired: ${NUM} \\(${NUM} forced\\)$`),
    set: (r, m) => ((r.flowsExpired = +m[1]), (r.flowsExpiredForced = +m[2])),
  },
  {
    re: new RegExp(`^Flows exported: ${NUM} \\(${NUM} records\\) in ${NUM} packets \\(${NUM} failures\\)$`),
    set: (r, m) => ((r.flowsExported = +m[1]), (r.recordsExported = +m[2]), (r.exportPackets = +m[3]), (r.exportFailures = +m[4])),
  },
  { re: new RegExp(`^Packets received by libpcap: ${NUM}$`), set: (r, m) => (pcap(r).received = +m[1]) },
  { re: new RegExp(`^Packets dropped by libpcap: ${NUM}$`), set: (r, m) => (pcap(r).dropped = +m[1]) },
  { re: new RegExp(`^Packets dropped by interface: ${NUM}$`), set: (r, m) => (pcap(r).ifDropped = +m[1]) },
  {
    re: new RegExp(`^  Flow bytes: +${REAL} +${REAL} +${REAL}$`),
    set: (r, m) => (expired(r).bytes = { min: +m[1], avg: +m[2], max: +m[3] }),
  },
  {
    re: new RegExp(`^  Flow packets: +${REAL} +${REAL} +${REAL}$`),
    set: (r, m) => (expired(r).packets = { min: +m[1], avg: +m[2], max: +m[3] }),
  },
  {
    re: new RegExp(`^  Duration: +${REAL}s +${REAL}s +${REAL}s$`),
    set: (r, m) => (expired(r).durationSec = { min: +m[1], avg: +m[2], max: +m[3] }),
  },
  {
    re: /^ +(\S.*?) \((\d+)\): +(\d+) +(\d+) +(-?[\d.]+|inf|nan)s +(-?[\d.]+|inf|nan)s$/,
    set: (r, m) =>
      r.protocols.push({
        protocol: +m[2],
        name: ipProtocolName(+m[2]),
        octets: +m[3],
        packets: +m[4],
        avgLifeSec: +m[5],
        maxLifeSec: +m[6],
      }),
  },
];

/** Reason lines hold one to three "label = count" pairs, labelled as the flow room names its reasons. */
const REASON_LABELS: Readonly<Record<string, (typeof REASON_KEYS)[number]>> = Object.fromEntries(
  REASON_NAMES.map((label, i) => [label, REASON_KEYS[i]]),
);

function pcap(r: StatsReport): NonNullable<StatsReport['libpcap']> {
  return (r.libpcap ??= { received: 0, dropped: 0, ifDropped: 0 });
}

function expired(r: StatsReport): NonNullable<StatsReport['expiredFlows']> {
  const zero = (): MinAvgMax => ({ min: 0, avg: 0, max: 0 });
  return (r.expiredFlows ??= { bytes: zero(), packets: zero(), durationSec: zero() });
}

/**
 * Reads `statistics` text, softflowd's or ours, back into a StatsReport: this is how `flowprobectl statistics
 * --json` serves softflowd, which has no JSON command. Unknown lines are skipped (a later softflowd may add
 * some); a reply without the header line is not statistics and throws.
 */
export function parseStatistics(text: string): StatsReport {
  const lines = text.split('\n');
  const head = /^(\S+)\[(\d+)\]: Accumulated statistics since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) UTC:$/.exec(lines[0] ?? '');
  if (!head) throw new Error(`not a statistics reply: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const r: StatsReport = {
    daemon: head[1],
    pid: +head[2],
    since: `${head[3]}Z`,
    activeFlows: 0,
    packetsProcessed: 0,
    packetsNonSampled: 0,
    fragments: 0,
    ignoredPackets: 0,
    ignoredNonIp: 0,
    ignoredTooShort: 0,
    flowsExpired: 0,
    flowsExpiredForced: 0,
    flowsExported: 0,
    recordsExported: 0,
    exportPackets: 0,
    exportFailures: 0,
    libpcap: null,
    expiredFlows: null,
    expiryReasons: emptyReasons(),
    protocols: [],
  };
  for (const line of lines.slice(1)) {
    const hit = STAT_LINES.find((s) => s.re.test(line));
    if (hit) {
      hit.set(r, line.match(hit.re)!);
      continue;
    }
    for (const m of line.matchAll(/(tcp\.rst|tcp\.fin|over 2 GiB|[a-z]+) = +(\d+)/g)) {
      const key = REASON_LABELS[m[1]];
      if (key) r.expiryReasons[key] = +m[2];
    }
  }
  return r;
}

// --- dump-flows -----------------------------------------------------------------------------------------------

export function formatFlowDumpHeader(daemon: string, pid: number): string {
  return replyLine(daemon, pid, 'Dumping flow data:');
}

/** "%Y-%m-%dT%H:%M:%S.mmm" in UTC, rounded to the millisecond (with a carry, unlike softflowd). */
function flowTime(sec: number, nsec: number): string {
  let s = Math.floor(sec);
  let ms = Math.round(nsec / 1e6);
  if (ms >= 1000) {
    s += Math.floor(ms / 1000);
    ms %= 1000;
  }
  return `${new Date(s * 1000).toISOString().slice(0, 19)}.${String(ms).padStart(3, '0')}`;
}

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, '0');
}

/** MAC from its high 16 and low 32 bits, as softflowd prints it ("%.2x:..." per byte). */
function formatMac(hi: number, lo: number): string {
  const w = hex(hi & 0xffff, 4) + hex(lo, 8);
  return w.replace(/(..)(?!$)/g, '$1:');
}

/** One flow of `dump-flows` (format_flow, softflowd.c 303–333): the ACTIVE line, the EXPIRY line, a blank line. */
export function formatFlowEntry(f: FlowSnapshot, now: number): string {
  const [h0, h1] = f.halves;
  const addr0 = formatAddr(f.addr[0], f.ipVersion);
  const addr1 = formatAddr(f.addr[1], f.ipVersion);
  const active =
    `ACTIVE seq:${u(f.seq)} [${addr0}]:${f.port[0]} <> [${addr1}]:${f.port[1]} proto:${f.protocol} ` +
    `octets>:${u(h0.octets)} packets>:${u(h0.packets)} octets<:${u(h1.octets)} packets<:${u(h1.packets)} ` +
    `start:${flowTime(f.startSec, f.startNsec)} finish:${flowTime(f.endSec, f.endNsec)} ` +
    `tcp>:${hex(h0.tcpFlags, 2)} tcp<:${hex(h1.tcpFlags, 2)} flowlabel>:${hex(h0.flowLabel, 8)} flowlabel<:${hex(h1.flowLabel, 8)} ` +
    `vlan>:${f.vlan} vlan<:${f.vlan} ether:${formatMac(f.macHi[0], f.macLo[0])} <> ${formatMac(f.macHi[1], f.macLo[1])}`;
  const left = Math.trunc(f.expiresAt) - Math.trunc(now);
  const expiry =
    left < 0
      ? `EXPIRY EVENT for flow ${u(f.seq)} now${f.expiresAt === 0 ? ' (FORCED)' : ''}`
      : `EXPIRY EVENT for flow ${u(f.seq)} in ${left} seconds`;
  return `${active}\n${expiry}\n\n`;
}

// --- timeouts -------------------------------------------------------------------------------------------------

/** `timeouts` (print_timeouts, softflowd.c 1372–1382). */
export function formatTimeouts(daemon: string, pid: number, t: Timeouts): string {
  return (
    replyLine(daemon, pid, 'Printing timeouts:') +
    `           TCP timeout: ${u(t.tcp)}s\n` +
    `  TCP post-RST timeout: ${u(t.tcpRst)}s\n` +
    `  TCP post-FIN timeout: ${u(t.tcpFin)}s\n` +
    `           UDP timeout: ${u(t.udp)}s\n` +
    `          ICMP timeout: ${u(t.icmp)}s\n` +
    `       General timeout: ${u(t.general)}s\n` +
    `      Maximum lifetime: ${u(t.maxlife)}s\n` +
    `       Expiry interval: ${u(t.expint)}s\n`
  );
}
