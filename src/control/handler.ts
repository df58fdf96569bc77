/**
 * The contract between the control socket and the probe: what the probe must answer for each softflowctl command.
 * The probe hands over plain data; the control room turns it into softflowd's text (format.ts) or JSON
 * (report.ts), so the figures a monitoring script reads are the figures an operator reads.
 *
 * The shapes follow the flow room's own counters so that the probe can pass them without copying: FlowStats
 * (src/flow/stats.ts) is a FlowCounters as it stands, and Timeouts is the flow room's type.
 */
import type { Timeouts } from '../flow/expiry.js';

export type { Timeouts };

/** Minimum, running mean and maximum of one quantity over expired flows (src/flow/stats.ts RunningStat). */
export interface MinMeanMax {
  readonly min: number;
  readonly mean: number;
  readonly max: number;
}

/** What the flow table counts (softflowd's struct FLOWTRACK statistics). */
export interface FlowCounters {
  /** "Number of active flows". */
  readonly activeFlows: number;
  /** "Packets processed". */
  readonly packetsProcessed: number;
  /** "Packets non-sampled": skipped by -s sampling; the line is printed only when this is not zero. */
  readonly nonSampled: number;
  readonly fragments: number;
  /** The two parts of "Ignored packets". */
  readonly nonIp: number;
  readonly tooShort: number;
  /** "Flows expired: N (M forced)"; delete-all is not an expiry. */
  readonly flowsExpired: number;
  readonly flowsForced: number;
  /**
   * Expired flows by reason, in the order `statistics` prints them: tcp, tcp.rst, tcp.fin, udp, icmp, general,
   * maxlife, over 2 GiB, maxflows, flushed (src/flow/expiry.ts Reason).
   */
  readonly reasons: ArrayLike<number>;
  /** Over expired flows, both directions together: octets, packets, duration in seconds. */
  readonly flowOctets: MinMeanMax;
  readonly flowPackets: MinMeanMax;
  readonly flowDuration: MinMeanMax;
  /** Per IP protocol, indexed by protocol number (256 entries), over expired flows. */
  readonly protoOctets: ArrayLike<number>;
  readonly protoPackets: ArrayLike<number>;
  /** Mean and maximum flow lifetime in seconds. */
  readonly protoLifeMean: ArrayLike<number>;
  readonly protoLifeMax: ArrayLike<number>;
}

/** What the exporter counts ("Flows exported: F (R records) in P packets (X failures)"). */
export interface ExportCounters {
  readonly flowsExported: number;
  readonly recordsExported: number;
  /** Export datagrams sent. */
  readonly packetsExported: number;
  readonly exportFailures: number;
}

/** libpcap's pcap_stats(): only live capture has them. */
export interface CaptureCounters {
  readonly received: number;
  readonly dropped: number;
  readonly ifDropped: number;
}

export interface StatsSnapshot {
  /** When collection started, seconds since the epoch ("Accumulated statistics since ..."). */
  readonly since: number;
  readonly flow: FlowCounters;
  readonly export: ExportCounters;
  /** Omitted (or null) when reading files: the three libpcap lines are then left out, as softflowd does. */
  readonly capture?: CaptureCounters | null;
}

/** One direction of a flow: what its sender sent (src/flow/table.ts FlowHalf fits as is). */
export interface FlowHalfSnapshot {
  readonly packets: number;
  readonly octets: number;
  /** OR of the TCP flags sent. */
  readonly tcpFlags: number;
  readonly flowLabel: number;
}

/**
 * A flow as `dump-flows` shows it. Index 0 is the lower-address half (softflowd's half 0): the dump's `>` counters
 * are what half 0 sent. src/flow/table.ts ActiveFlow fits as is, so the probe passes FlowTable.dumpFlows() along.
 */
export interface FlowSnapshot {
  /** Creation sequence (softflowd's flow_seq). */
  readonly seq: number;
  /** 4 or 6. */
  readonly ipVersion: number;
  readonly protocol: number;
  /** Big-endian 32-bit words, IPv4 in word 0 (the layout of PacketView and FlowRecord). */
  readonly addr: readonly [ArrayLike<number>, ArrayLike<number>];
  readonly port: readonly [number, number];
  readonly halves: readonly [FlowHalfSnapshot, FlowHalfSnapshot];
  /** First and latest packet of either direction. */
  readonly startSec: number;
  readonly startNsec: number;
  readonly endSec: number;
  readonly endNsec: number;
  /** VLAN id in the key (-T vlan|ether), else 0; flowprobe keeps one per flow, so both columns show it. */
  readonly vlan: number;
  /** MAC of each half, high 16 and low 32 bits (-T ether), else 0. */
  readonly macHi: readonly [number, number];
  readonly macLo: readonly [number, number];
  /** Expiry second, since the epoch; 0 = marked for forced expiry. */
  readonly expiresAt: number;
}

export interface FlowDump {
  /** The probe's clock in whole seconds since the epoch (the capture clock when reading files). */
  readonly now: number;
  /**
   * Flows in the order they will expire, soonest first. Formatted as they are produced, so a generator may
   * reuse one object for every flow.
   */
  readonly flows: Iterable<FlowSnapshot>;
}

/**
 * The probe's side of each control command. A method that throws (or an expireAll that rejects) costs the client
 * an error line, never the daemon.
 */
export interface ControlHandler {
  /** `statistics` and `statistics-json`. */
  statistics(): StatsSnapshot;
  /** `dump-flows`. Called synchronously, so the dump is one consistent picture of the table. */
  dumpFlows(): FlowDump;
  /** `timeouts`. */
  timeouts(): Timeouts;
  /**
   * `expire-all`: expire every flow (reason "flushed") and export it, resending templates first (v9/IPFIX).
   * Returns how many flows were expired, -1 if the export failed (softflowd's convention).
   */
  expireAll(): number | Promise<number>;
  /** `delete-all`: drop every flow without export or statistics; returns how many. */
  deleteAll(): number;
  /** `send-template`: put the templates into the next export datagram. */
  sendTemplate(): void;
  /** `stop-gather` / `start-gather`: stop or resume reading packets. */
  stopGather(): void;
  startGather(): void;
  /** `debug+` / `debug-`. */
  debug(delta: 1 | -1): void;
  /** `shutdown`: expire and export all flows, then exit. Called once the reply has been handed to the client. */
  shutdown(): void;
  /** `exit`: leave at once without exporting. Called once the reply has been handed to the client. */
  exit(): void;
}
