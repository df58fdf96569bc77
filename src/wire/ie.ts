/**
 * Information Elements: the numbers (IANA "IPFIX Information Elements" registry, RFC 7012 §4; NetFlow v9 field
 * types 1..127 of RFC 3954 §8 are the same numbers) and, for each one we understand, one codec that both writes
 * it from and reads it into a FlowRecord (or OptionsRecord). Exporter and receiver share these tables, so a
 * field cannot be written one way and read another.
 */
import { readUnsigned, writeUnsigned } from './bytes.js';
import type { FlowRecord } from './record.js';
import {
  TimeBase,
  NTP_UNIX_OFFSET,
  nsecToNtpFrac,
  ntpFracToNsec,
  ntpFracToUsec,
  ntpSecToUnix,
  recordMs,
  setRecordMs,
  setRecordTime,
  usecToNtpFrac,
} from './time.js';

export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  ipClassOfService: 5,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  sourceIPv4PrefixLength: 9,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  destinationIPv4PrefixLength: 13,
  egressInterface: 14,
  ipNextHopIPv4Address: 15,
  bgpSourceAsNumber: 16,
  bgpDestinationAsNumber: 17,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  sourceIPv6PrefixLength: 29,
  destinationIPv6PrefixLength: 30,
  flowLabelIPv6: 31,
  icmpTypeCodeIPv4: 32,
  samplingInterval: 34,
  samplingAlgorithm: 35,
  samplerId: 48,
  sourceMacAddress: 56,
  postDestinationMacAddress: 57,
  vlanId: 58,
  postVlanId: 59,
  ipVersion: 60,
  flowDirection: 61,
  ipNextHopIPv6Address: 62,
  /** 70..79: mplsTopLabelStackSection, mplsLabelStackSection2..10. */
  mplsTopLabelStackSection: 70,
  destinationMacAddress: 80,
  interfaceName: 82,
  exporterIPv4Address: 130,
  exporterIPv6Address: 131,
  flowEndReason: 136,
  icmpTypeCodeIPv6: 139,
  meteringProcessId: 143,
  observationDomainId: 149,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  flowStartDeltaMicroseconds: 158,
  flowEndDeltaMicroseconds: 159,
  systemInitTimeMilliseconds: 160,
  dot1qVlanId: 243,
  selectorId: 302,
  selectorAlgorithm: 304,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
} as const;

/** RFC 5103 §6.1: reverse IEs are the forward IE numbers with this Private Enterprise Number. */
export const PEN_REVERSE = 29305;

/** RFC 3954 §6.1 scope field types of v9 options templates (their own number space, not IEs). */
export const V9Scope = { system: 1, interface: 2, lineCard: 3, cache: 4, template: 5 } as const;

/** Marks a field as variable length in a template (RFC 7011 §7). */
export const VARLEN = 65535;

/** One map key for (enterprise number, element id); PEN 0 is the IANA registry. */
export function ieKey(pen: number, id: number): number {
  return pen * 65536 + id;
}

/**
 * How one element is written and read. `minLen..maxLen` are the field lengths the codec can handle; a template
 * field with another length is skipped by length on decode (and never produced on encode).
 */
export interface FieldCodec<T> {
  readonly name: string;
  readonly minLen: number;
  readonly maxLen: number;
  enc(dv: DataView, off: number, len: number, r: T, tb: TimeBase): void;
  dec(dv: DataView, off: number, len: number, r: T, tb: TimeBase): void;
  /**
   * For a field written as one unsigned integer (enc is writeUnsigned of this value): the value alone, so that a
   * compiled record writer (compiled.ts) can write its bytes in place instead of calling enc.
   */
  readonly value?: (r: T, tb: TimeBase) => number;
}

/** The options data we send and understand: sampling (v9 34/35; IPFIX 305/306/304, RFC 5476) and uptime base. */
export class OptionsRecord {
  /** v9 scope values (RFC 3954 §6.1). */
  scopeSystem = 0;
  scopeInterface = 0;
  meteringProcessId = 0;
  observationDomainId = 0;
  /** 1-in-N (IE 34); 0 = not sent. */
  samplingInterval = 0;
  /** IE 35: 1 deterministic, 2 random (RFC 3954 §8). */
  samplingAlgorithm = 0;
  samplerId = 0;
  selectorId = 0;
  /** IE 304, IANA "Packet Selection Methods": 1 = systematic count-based sampling. */
  selectorAlgorithm = 0;
  /** IE 305/306 (RFC 5476 §6.5.2): select `interval` packets, then skip `space`. */
  samplingPacketInterval = 0;
  samplingPacketSpace = 0;
  /** IE 160, ms since the epoch; 0 = not sent. */
  systemInitTimeMs = 0;

  clear(): void {
    this.scopeSystem = this.scopeInterface = this.meteringProcessId = this.observationDomainId = 0;
    this.samplingInterval = this.samplingAlgorithm = this.samplerId = this.selectorId = 0;
    this.selectorAlgorithm = this.samplingPacketInterval = this.samplingPacketSpace = 0;
    this.systemInitTimeMs = 0;
  }

  /**
   * The announced "one packet in N", or 0 when the record announces none. An interval of 0 means unsampled,
   * not "multiply by zero" (a receiver that scaled by it would zero every counter).
   */
  samplingRate(): number {
    if (this.samplingPacketInterval > 0) {
      return (this.samplingPacketInterval + this.samplingPacketSpace) / this.samplingPacketInterval;
    }
    return this.samplingInterval;
  }
}

type Get<T> = (r: T) => number;
type Set<T> = (r: T, v: number) => void;

function uint<T>(name: string, get: Get<T>, set: Set<T>, maxLen = 8): FieldCodec<T> {
  return {
    name,
    minLen: 1,
    maxLen,
    enc: (dv, off, len, r) => writeUnsigned(dv, off, len, get(r)),
    dec: (dv, off, len, r) => set(r, readUnsigned(dv, off, len)),
    value: get,
  };
}

/** IPv4 address into word 0 of an address array; the decoder learns the address family from it. */
function ipv4(name: string, words: (r: FlowRecord) => Uint32Array, sets: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 4,
    maxLen: 4,
    enc: (dv, off, _len, r) => dv.setUint32(off, words(r)[0]),
    value: (r) => words(r)[0],
    dec: (dv, off, _len, r) => {
      words(r)[0] = dv.getUint32(off);
      if (sets) r.ipVersion = 4;
    },
  };
}

function ipv6(name: string, words: (r: FlowRecord) => Uint32Array, sets: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 16,
    maxLen: 16,
    enc: (dv, off, _len, r) => {
      const w = words(r);
      for (let i = 0; i < 4; i++) dv.setUint32(off + 4 * i, w[i]);
    },
    dec: (dv, off, _len, r) => {
      const w = words(r);
      for (let i = 0; i < 4; i++) w[i] = dv.getUint32(off + 4 * i);
      if (sets) r.ipVersion = 6;
    },
  };
}

function mac(name: string, src: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 6,
    maxLen: 6,
    enc: (dv, off, _len, r) => {
      dv.setUint16(off, src ? r.srcMacHi : r.dstMacHi);
      dv.setUint32(off + 2, src ? r.srcMacLo : r.dstMacLo);
    },
    dec: (dv, off, _len, r) => {
      if (src) {
        r.srcMacHi = dv.getUint16(off);
        r.srcMacLo = dv.getUint32(off + 2);
      } else {
        r.dstMacHi = dv.getUint16(off);
        r.dstMacLo = dv.getUint32(off + 2);
      }
    },
  };
}

/**
 * exporterIPv4Address / exporterIPv6Address (130/131). The all-zero address reads back as "no exporter"
 * (exporterVersion 0): it is what a record without one is written with, and no exporter sends from it.
 */
function exporterAddr(v6: boolean): FieldCodec<FlowRecord> {
  const n = v6 ? 4 : 1;
  return {
    name: v6 ? 'exporterIPv6Address' : 'exporterIPv4Address',
    minLen: 4 * n,
    maxLen: 4 * n,
    enc: (dv, off, _len, r) => {
      for (let i = 0; i < n; i++) dv.setUint32(off + 4 * i, r.exporter[i]);
    },
    dec: (dv, off, _len, r) => {
      let any = 0;
      r.exporter.fill(0);
      for (let i = 0; i < n; i++) any |= r.exporter[i] = dv.getUint32(off + 4 * i);
      r.exporterVersion = any !== 0 ? (v6 ? 6 : 4) : 0;
    },
  };
}

/** MPLS label stack entry i: the top 3 bytes of the shim (label<<4 | TC<<1 | S), RFC 7012 IE 70 ff.; TTL is not carried. */
function mpls(i: number): FieldCodec<FlowRecord> {
  return {
    name: i === 0 ? 'mplsTopLabelStackSection' : `mplsLabelStackSection${i + 1}`,
    minLen: 3,
    maxLen: 3,
    enc: (dv, off, _len, r) => {
      const v = i < r.mplsDepth ? r.mpls[i] >>> 8 : 0;
      dv.setUint8(off, v >>> 16);
      dv.setUint16(off + 1, v & 0xffff);
    },
    dec: (dv, off, _len, r) => {
      const v = (dv.getUint8(off) << 16) | dv.getUint16(off + 1);
      r.mpls[i] = (v << 8) >>> 0;
      if (v !== 0 && r.mplsDepth < i + 1) r.mplsDepth = i + 1;
    },
  };
}

/** flowStart/EndSysUpTime (22/21): ms since the exporter's uptime base, 32 bits wrapping. */
function uptime(name: string, end: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 1,
    maxLen: 8,
    enc: (dv, off, len, r, tb) => writeUnsigned(dv, off, len, tb.msToUptime(recordMs(r, end))),
    value: (r, tb) => tb.msToUptime(recordMs(r, end)),
    dec: (dv, off, len, r, tb) => {
      if (Number.isNaN(tb.uptimeZeroMs)) {
        tb.unresolved++;
        return;
      }
      setRecordMs(r, end, tb.uptimeToMs(readUnsigned(dv, off, len)));
    },
  };
}

/** flowStart/EndSeconds (150/151), dateTimeSeconds. */
function seconds(name: string, end: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 4,
    maxLen: 8,
    enc: (dv, off, len, r) => writeUnsigned(dv, off, len, end ? r.endSec : r.startSec),
    value: end ? (r) => r.endSec : (r) => r.startSec,
    dec: (dv, off, len, r) => setRecordTime(r, end, readUnsigned(dv, off, len), 0),
  };
}

/** flowStart/EndMilliseconds (152/153); read at any width, since some exporters shorten them. */
function millis(name: string, end: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 4,
    maxLen: 8,
    enc: (dv, off, len, r) => writeUnsigned(dv, off, len, recordMs(r, end)),
    value: (r) => recordMs(r, end),
    dec: (dv, off, len, r) => setRecordMs(r, end, readUnsigned(dv, off, len)),
  };
}

/** flowStart/EndMicroseconds (154/155) and Nanoseconds (156/157): 64-bit NTP timestamps. */
function ntp(name: string, end: boolean, nano: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 8,
    maxLen: 8,
    enc: (dv, off, _len, r) => {
      const sec = end ? r.endSec : r.startSec;
      const nsec = end ? r.endNsec : r.startNsec;
      dv.setUint32(off, (sec + NTP_UNIX_OFFSET) >>> 0);
      dv.setUint32(off + 4, nano ? nsecToNtpFrac(nsec) : usecToNtpFrac(Math.floor(nsec / 1000)));
    },
    dec: (dv, off, _len, r) => {
      let sec = ntpSecToUnix(dv.getUint32(off));
      let nsec: number;
      if (nano) {
        nsec = ntpFracToNsec(dv.getUint32(off + 4));
      } else {
        nsec = ntpFracToUsec(dv.getUint32(off + 4)) * 1000;
        if (nsec >= 1e9) {
          sec++;
          nsec -= 1e9;
        }
      }
      setRecordTime(r, end, sec, nsec);
    },
  };
}

/** flowStart/EndDeltaMicroseconds (158/159): µs before the message's export time. Decode only in practice. */
function deltaMicros(name: string, end: boolean): FieldCodec<FlowRecord> {
  return {
    name,
    minLen: 1,
    maxLen: 4,
    enc: (dv, off, len, r, tb) =>
      writeUnsigned(dv, off, len, tb.exportSec * 1e6 - (recordMs(r, end) * 1000)),
    dec: (dv, off, len, r, tb) => {
      const us = tb.exportSec * 1e6 - readUnsigned(dv, off, len);
      const sec = Math.floor(us / 1e6);
      setRecordTime(r, end, sec, (us - sec * 1e6) * 1000);
    },
  };
}

function table<T>(entries: [number, number, FieldCodec<T>][]): ReadonlyMap<number, FieldCodec<T>> {
  const m = new Map<number, FieldCodec<T>>();
  for (const [pen, id, c] of entries) m.set(ieKey(pen, id), c);
  return m;
}

type FR = FlowRecord;
const flowEntries: [number, number, FieldCodec<FR>][] = [
  [0, IE.octetDeltaCount, uint('octetDeltaCount', (r: FR) => r.octets, (r, v) => (r.octets = v))],
  [0, IE.packetDeltaCount, uint('packetDeltaCount', (r: FR) => r.packets, (r, v) => (r.packets = v))],
  [0, IE.protocolIdentifier, uint('protocolIdentifier', (r: FR) => r.protocol, (r, v) => (r.protocol = v), 1)],
  [0, IE.ipClassOfService, uint('ipClassOfService', (r: FR) => r.tos, (r, v) => (r.tos = v), 1)],
  // RFC 7125 widened tcpControlBits to 2 bytes; v9 and softflowd send 1.
  [0, IE.tcpControlBits, uint('tcpControlBits', (r: FR) => r.tcpFlags, (r, v) => (r.tcpFlags = v), 2)],
  [0, IE.sourceTransportPort, uint('sourceTransportPort', (r: FR) => r.srcPort, (r, v) => (r.srcPort = v), 2)],
  [0, IE.sourceIPv4Address, ipv4('sourceIPv4Address', (r) => r.src, true)],
  [0, IE.sourceIPv4PrefixLength, uint('sourceIPv4PrefixLength', (r: FR) => r.srcMask, (r, v) => (r.srcMask = v), 1)],
  [0, IE.ingressInterface, uint('ingressInterface', (r: FR) => r.inputIf, (r, v) => (r.inputIf = v), 4)],
  [0, IE.destinationTransportPort, uint('destinationTransportPort', (r: FR) => r.dstPort, (r, v) => (r.dstPort = v), 2)],
  [0, IE.destinationIPv4Address, ipv4('destinationIPv4Address', (r) => r.dst, true)],
  [0, IE.destinationIPv4PrefixLength, uint('destinationIPv4PrefixLength', (r: FR) => r.dstMask, (r, v) => (r.dstMask = v), 1)],
  [0, IE.egressInterface, uint('egressInterface', (r: FR) => r.outputIf, (r, v) => (r.outputIf = v), 4)],
  [0, IE.ipNextHopIPv4Address, ipv4('ipNextHopIPv4Address', (r) => r.nextHop, false)],
  [0, IE.bgpSourceAsNumber, uint('bgpSourceAsNumber', (r: FR) => r.srcAs, (r, v) => (r.srcAs = v), 4)],
  [0, IE.bgpDestinationAsNumber, uint('bgpDestinationAsNumber', (r: FR) => r.dstAs, (r, v) => (r.dstAs = v), 4)],
  [0, IE.flowEndSysUpTime, uptime('flowEndSysUpTime', true)],
  [0, IE.flowStartSysUpTime, uptime('flowStartSysUpTime', false)],
  [0, IE.sourceIPv6Address, ipv6('sourceIPv6Address', (r) => r.src, true)],
  [0, IE.destinationIPv6Address, ipv6('destinationIPv6Address', (r) => r.dst, true)],
  [0, IE.sourceIPv6PrefixLength, uint('sourceIPv6PrefixLength', (r: FR) => r.srcMask, (r, v) => (r.srcMask = v), 1)],
  [0, IE.destinationIPv6PrefixLength, uint('destinationIPv6PrefixLength', (r: FR) => r.dstMask, (r, v) => (r.dstMask = v), 1)],
  [0, IE.flowLabelIPv6, uint('flowLabelIPv6', (r: FR) => r.flowLabel, (r, v) => (r.flowLabel = v), 4)],
  // ICMP type·256+code lives in dstPort (FlowRecord contract, the NetFlow convention). Templates that carry both
  // it and destinationTransportPort (nfdump's nfreplay v9 does) send 0 in the one that does not apply, so a 0
  // here must not wipe a TCP/UDP port read before it; echo reply (0.0) reads as 0 either way.
  [0, IE.icmpTypeCodeIPv4, uint('icmpTypeCodeIPv4', (r: FR) => r.dstPort, (r, v) => (r.dstPort = v || r.dstPort), 2)],
  [0, IE.icmpTypeCodeIPv6, uint('icmpTypeCodeIPv6', (r: FR) => r.dstPort, (r, v) => (r.dstPort = v || r.dstPort), 2)],
  [0, IE.sourceMacAddress, mac('sourceMacAddress', true)],
  [0, IE.postDestinationMacAddress, mac('postDestinationMacAddress', false)],
  [0, IE.destinationMacAddress, mac('destinationMacAddress', false)],
  [0, IE.vlanId, uint('vlanId', (r: FR) => r.vlan, (r, v) => (r.vlan = v), 2)],
  [0, IE.dot1qVlanId, uint('dot1qVlanId', (r: FR) => r.vlan, (r, v) => (r.vlan = v), 2)],
  [0, IE.postVlanId, uint('postVlanId', (r: FR) => r.postVlan, (r, v) => (r.postVlan = v), 2)],
  // Sent, but not read back: the address fields say the family (nfdump reads it so too). Read, a hostile or buggy
  // IE 60 would set any byte as the version, or call IPv6 addresses IPv4, and the store would keep the wrong family.
  [0, IE.ipVersion, uint('ipVersion', (r: FR) => r.ipVersion, () => undefined, 1)],
  [0, IE.flowDirection, uint('flowDirection', (r: FR) => r.direction, (r, v) => (r.direction = v), 1)],
  [0, IE.ipNextHopIPv6Address, ipv6('ipNextHopIPv6Address', (r) => r.nextHop, false)],
  [0, IE.flowEndReason, uint('flowEndReason', (r: FR) => r.endReason, (r, v) => (r.endReason = v), 1)],
  [0, IE.flowStartSeconds, seconds('flowStartSeconds', false)],
  [0, IE.flowEndSeconds, seconds('flowEndSeconds', true)],
  [0, IE.flowStartMilliseconds, millis('flowStartMilliseconds', false)],
  [0, IE.flowEndMilliseconds, millis('flowEndMilliseconds', true)],
  [0, IE.flowStartMicroseconds, ntp('flowStartMicroseconds', false, false)],
  [0, IE.flowEndMicroseconds, ntp('flowEndMicroseconds', true, false)],
  [0, IE.flowStartNanoseconds, ntp('flowStartNanoseconds', false, true)],
  [0, IE.flowEndNanoseconds, ntp('flowEndNanoseconds', true, true)],
  [0, IE.flowStartDeltaMicroseconds, deltaMicros('flowStartDeltaMicroseconds', false)],
  [0, IE.flowEndDeltaMicroseconds, deltaMicros('flowEndDeltaMicroseconds', true)],
  [0, IE.exporterIPv4Address, exporterAddr(false)],
  [0, IE.exporterIPv6Address, exporterAddr(true)],
  // RFC 5103 reverse direction of a biflow.
  [PEN_REVERSE, IE.octetDeltaCount, uint('reverseOctetDeltaCount', (r: FR) => r.revOctets, (r, v) => (r.revOctets = v))],
  [PEN_REVERSE, IE.packetDeltaCount, uint('reversePacketDeltaCount', (r: FR) => r.revPackets, (r, v) => (r.revPackets = v))],
  [PEN_REVERSE, IE.ipClassOfService, uint('reverseIpClassOfService', (r: FR) => r.revTos, (r, v) => (r.revTos = v), 1)],
  [PEN_REVERSE, IE.tcpControlBits, uint('reverseTcpControlBits', (r: FR) => r.revTcpFlags, (r, v) => (r.revTcpFlags = v), 2)],
];
for (let i = 0; i < 10; i++) flowEntries.push([0, IE.mplsTopLabelStackSection + i, mpls(i)]);

/** Codecs for flow data records, keyed by {@link ieKey}. */
export const FLOW_CODECS = table(flowEntries);

type OR = OptionsRecord;
/** Codecs for options data records (IPFIX scope fields are ordinary IEs and come from here too). */
export const OPTION_CODECS = table<OR>([
  [0, IE.samplingInterval, uint('samplingInterval', (r: OR) => r.samplingInterval, (r, v) => (r.samplingInterval = v), 4)],
  [0, IE.samplingAlgorithm, uint('samplingAlgorithm', (r: OR) => r.samplingAlgorithm, (r, v) => (r.samplingAlgorithm = v), 1)],
  [0, IE.samplerId, uint('samplerId', (r: OR) => r.samplerId, (r, v) => (r.samplerId = v), 4)],
  [0, IE.meteringProcessId, uint('meteringProcessId', (r: OR) => r.meteringProcessId, (r, v) => (r.meteringProcessId = v), 4)],
  [0, IE.observationDomainId, uint('observationDomainId', (r: OR) => r.observationDomainId, (r, v) => (r.observationDomainId = v), 4)],
  [0, IE.systemInitTimeMilliseconds, uint('systemInitTimeMilliseconds', (r: OR) => r.systemInitTimeMs, (r, v) => (r.systemInitTimeMs = v))],
  [0, IE.selectorId, uint('selectorId', (r: OR) => r.selectorId, (r, v) => (r.selectorId = v))],
  [0, IE.selectorAlgorithm, uint('selectorAlgorithm', (r: OR) => r.selectorAlgorithm, (r, v) => (r.selectorAlgorithm = v), 2)],
  [0, IE.samplingPacketInterval, uint('samplingPacketInterval', (r: OR) => r.samplingPacketInterval, (r, v) => (r.samplingPacketInterval = v), 4)],
  [0, IE.samplingPacketSpace, uint('samplingPacketSpace', (r: OR) => r.samplingPacketSpace, (r, v) => (r.samplingPacketSpace = v), 4)],
]);

/** v9 options scope fields (RFC 3954 §6.1), keyed by scope type with PEN 0. */
export const V9_SCOPE_CODECS = table<OR>([
  [0, V9Scope.system, uint('scopeSystem', (r: OR) => r.scopeSystem, (r, v) => (r.scopeSystem = v), 4)],
  [0, V9Scope.interface, uint('scopeInterface', (r: OR) => r.scopeInterface, (r, v) => (r.scopeInterface = v), 4)],
]);
