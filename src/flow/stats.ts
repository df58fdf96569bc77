/**
 * The counters behind softflowd's `statistics` command (§2.3 of the reference), kept as plain numbers and typed
 * arrays; formatting them is the control socket's job. Export counters (flows exported, records, datagrams,
 * failures) belong to the exporter and live there.
 */
import { REASON_COUNT } from './expiry.js';

/** min / mean / max of one quantity over expired flows (softflowd's struct STATISTIC). */
export class RunningStat {
  min = 0;
  mean = 0;
  max = 0;

  /** softflowd's update_statistic: `n` is the count including this value; the mean is a running mean. */
  add(value: number, n: number): void {
    if (n === 1) {
      this.min = this.mean = this.max = value;
      return;
    }
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.mean += (value - this.mean) / n;
  }
}

export class FlowStats {
  /** Flows in the table now ("Number of active flows"). */
  activeFlows = 0;
  /**
   * "Packets processed": packets kept by sampling that reached the IP layer, including those too short to use
   * (softflowd counts runts here and in tooShort), excluding non-IP and unwanted IPv6.
   */
  packetsProcessed = 0;
  /** Packets skipped by `-s N` sampling ("Packets non-sampled"). */
  nonSampled = 0;
  /** IPv4 packets with MF or an offset, and IPv6 packets with a Fragment header. */
  fragments = 0;
  /** Not IPv4/IPv6 (including unknown link types, and IPv6 when IPv6 is not tracked). */
  nonIp = 0;
  /** IP packets whose header was not captured whole or was impossible. */
  tooShort = 0;
  /** Flows removed for any reason but delete-all ("Flows expired"). */
  flowsExpired = 0;
  /** Flows evicted by maxflows pressure (the "forced" in "Flows expired: N (M forced)"). */
  flowsForced = 0;
  /** Expired flows by Reason (index = Reason). */
  readonly reasons = new Float64Array(REASON_COUNT);
  /** Over expired flows, both directions together: octets, packets, and duration in seconds. */
  readonly flowOctets = new RunningStat();
  readonly flowPackets = new RunningStat();
  readonly flowDuration = new RunningStat();
  /** Per IP protocol (index = protocol number): expired flows, their octets and packets, and their lifetimes. */
  readonly protoFlows = new Float64Array(256);
  readonly protoOctets = new Float64Array(256);
  readonly protoPackets = new Float64Array(256);
  readonly protoLifeMean = new Float64Array(256);
  readonly protoLifeMax = new Float64Array(256);

  /** "Ignored packets" = non-IP + too short. */
  get ignored(): number {
    return this.nonIp + this.tooShort;
  }

  /** Accounts one expired flow (softflowd's update_statistics and update_expiry_stats). */
  recordExpired(protocol: number, octets: number, packets: number, duration: number, reason: number): void {
    const n = ++this.flowsExpired;
    this.reasons[reason]++;
    this.flowDuration.add(duration, n);
    this.flowOctets.add(octets, n);
    this.flowPackets.add(packets, n);
    const pn = ++this.protoFlows[protocol];
    this.protoOctets[protocol] += octets;
    this.protoPackets[protocol] += packets;
    if (pn === 1) {
      this.protoLifeMean[protocol] = this.protoLifeMax[protocol] = duration;
    } else {
      this.protoLifeMean[protocol] += (duration - this.protoLifeMean[protocol]) / pn;
      if (duration > this.protoLifeMax[protocol]) this.protoLifeMax[protocol] = duration;
    }
  }
}
