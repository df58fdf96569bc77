/**
 * The `statistics` figures as one plain object: what `statistics-json` sends and `flowprobectl statistics --json`
 * prints, and what the text layout is printed from, so the two can never disagree.
 */
import type { StatsSnapshot } from './handler.js';
import { ipProtocolName } from '../decode/protocols.js';

export interface MinAvgMax {
  min: number;
  avg: number;
  max: number;
}

export interface ExpiryReasons {
  tcp: number;
  tcpRst: number;
  tcpFin: number;
  udp: number;
  icmp: number;
  general: number;
  maxlife: number;
  over2GiB: number;
  maxflows: number;
  flushed: number;
}

/** Keys of ExpiryReasons in the order `statistics` prints them (and FlowCounters.reasons indexes them). */
export const REASON_KEYS: readonly (keyof ExpiryReasons)[] = [
  'tcp',
  'tcpRst',
  'tcpFin',
  'udp',
  'icmp',
  'general',
  'maxlife',
  'over2GiB',
  'maxflows',
  'flushed',
];

export interface ProtocolReport {
  protocol: number;
  name: string;
  octets: number;
  packets: number;
  avgLifeSec: number;
  maxLifeSec: number;
}

export interface StatsReport {
  /** The program answering: "flowprobe", or "softflowd" when flowprobectl drives softflowd. */
  daemon: string;
  pid: number;
  /** Start of collection, UTC, whole seconds: "2026-11-24T19:48:15Z". */
  since: string;
  activeFlows: number;
  packetsProcessed: number;
  packetsNonSampled: number;
  fragments: number;
  /** ignoredNonIp + ignoredTooShort. */
  ignoredPackets: number;
  ignoredNonIp: number;
  ignoredTooShort: number;
  flowsExpired: number;
  flowsExpiredForced: number;
  flowsExported: number;
  recordsExported: number;
  /** Export datagrams. */
  exportPackets: number;
  exportFailures: number;
  /** pcap_stats(); null when reading files. */
  libpcap: { received: number; dropped: number; ifDropped: number } | null;
  /** Over expired flows, both directions together; null until a flow has expired. */
  expiredFlows: { bytes: MinAvgMax; packets: MinAvgMax; durationSec: MinAvgMax } | null;
  expiryReasons: ExpiryReasons;
  /** Protocols that expired flows carried, by number. */
  protocols: ProtocolReport[];
}

/** Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (whole seconds, as softflowd prints them). */
export function isoSeconds(sec: number): string {
  return `${new Date(Math.floor(sec) * 1000).toISOString().slice(0, 19)}Z`;
}

export function emptyReasons(): ExpiryReasons {
  return { tcp: 0, tcpRst: 0, tcpFin: 0, udp: 0, icmp: 0, general: 0, maxlife: 0, over2GiB: 0, maxflows: 0, flushed: 0 };
}

export function toStatsReport(s: StatsSnapshot, daemon: string, pid: number): StatsReport {
  const f = s.flow;
  const e = s.export;
  const reasons = emptyReasons();
  REASON_KEYS.forEach((k, i) => (reasons[k] = f.reasons[i] ?? 0));
  const protocols: ProtocolReport[] = [];
  for (let p = 0; p < 256; p++) {
    // softflowd lists a protocol once an expired flow of it carried packets.
    const packets = f.protoPackets[p] ?? 0;
    if (packets > 0) {
      protocols.push({
        protocol: p,
        name: ipProtocolName(p),
        octets: f.protoOctets[p] ?? 0,
        packets,
        avgLifeSec: f.protoLifeMean[p] ?? 0,
        maxLifeSec: f.protoLifeMax[p] ?? 0,
      });
    }
  }
  const mam = (m: { min: number; mean: number; max: number }): MinAvgMax => ({ min: m.min, avg: m.mean, max: m.max });
  return {
    daemon,
    pid,
    since: isoSeconds(s.since),
    activeFlows: f.activeFlows,
    packetsProcessed: f.packetsProcessed,
    packetsNonSampled: f.nonSampled,
    fragments: f.fragments,
    ignoredPackets: f.nonIp + f.tooShort,
    ignoredNonIp: f.nonIp,
    ignoredTooShort: f.tooShort,
    flowsExpired: f.flowsExpired,
    flowsExpiredForced: f.flowsForced,
    flowsExported: e.flowsExported,
    recordsExported: e.recordsExported,
    exportPackets: e.packetsExported,
    exportFailures: e.exportFailures,
    libpcap: s.capture ? { received: s.capture.received, dropped: s.capture.dropped, ifDropped: s.capture.ifDropped } : null,
    expiredFlows:
      f.flowsExpired > 0
        ? { bytes: mam(f.flowOctets), packets: mam(f.flowPackets), durationSec: mam(f.flowDuration) }
        : null,
    expiryReasons: reasons,
    protocols,
  };
}
