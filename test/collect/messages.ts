/**
 * Hand-built v9 and IPFIX messages for the session tests: templates, withdrawals, data and options sets put together
 * in any order, encoded field by field with the wire module's codecs (the same ones exporters use).
 */
import type { SessionConfig } from '../../src/collect/session.js';
import { IE, OptionsRecord, VARLEN } from '../../src/wire/ie.js';
import { writeIpfixHeader } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { IPFIX, V9, Template, writeTemplateRecord, type Flavor, type TemplateField } from '../../src/wire/template.js';
import { TimeBase } from '../../src/wire/time.js';

const fld = (id: number, length: number, pen = 0): TemplateField => ({ id, pen, length });

/** Layout A: addresses, 4-byte counters, protocol, absolute ms times. */
export function layoutA(version: 9 | 10, id: number): Template {
  return new Template(version, id, [
    fld(IE.sourceIPv4Address, 4),
    fld(IE.destinationIPv4Address, 4),
    fld(IE.packetDeltaCount, 4),
    fld(IE.octetDeltaCount, 4),
    fld(IE.protocolIdentifier, 1),
    fld(IE.flowStartMilliseconds, 8),
    fld(IE.flowEndMilliseconds, 8),
  ]);
}

/** Layout B: A's fields and size with the addresses and counters swapped, so bytes written for A read differently. */
export function layoutB(version: 9 | 10, id: number): Template {
  return new Template(version, id, [
    fld(IE.destinationIPv4Address, 4),
    fld(IE.sourceIPv4Address, 4),
    fld(IE.octetDeltaCount, 4),
    fld(IE.packetDeltaCount, 4),
    fld(IE.protocolIdentifier, 1),
    fld(IE.flowStartMilliseconds, 8),
    fld(IE.flowEndMilliseconds, 8),
  ]);
}

/** Layout with an enterprise field and a variable-length field in the middle, both to be skipped by length. */
export function layoutForeign(id: number): Template {
  return new Template(10, id, [
    fld(IE.sourceIPv4Address, 4),
    fld(999, 6, 12345),
    fld(IE.interfaceName, VARLEN),
    fld(IE.destinationIPv4Address, 4),
    fld(IE.packetDeltaCount, 3),
    fld(IE.octetDeltaCount, 5),
    fld(IE.protocolIdentifier, 1),
    fld(IE.flowStartSeconds, 4),
    fld(IE.flowEndSeconds, 4),
  ]);
}

export function samplingOptionsTemplate(id: number): Template {
  return new Template(10, id, [fld(IE.meteringProcessId, 4), fld(IE.samplingPacketInterval, 4), fld(IE.samplingPacketSpace, 4)], true, 1);
}

export function set(id: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, id);
  dv.setUint16(2, out.length);
  out.set(body, 4);
  return out;
}

export function templateSet(f: Flavor, templates: Template[], options = false): Uint8Array {
  const buf = new Uint8Array(65535);
  const dv = new DataView(buf.buffer);
  let p = 0;
  for (const t of templates) p = writeTemplateRecord(f, dv, p, t);
  return set(options ? f.optionsSetId : f.templateSetId, buf.slice(0, p));
}

/** RFC 7011 §8.1 withdrawal records: the ID with field count 0. */
export function withdrawalSet(ids: number[], options = false): Uint8Array {
  const body = new Uint8Array(4 * ids.length);
  const dv = new DataView(body.buffer);
  ids.forEach((id, i) => dv.setUint16(4 * i, id));
  return set(options ? IPFIX.optionsSetId : IPFIX.templateSetId, body);
}

export function dataSet(t: Template, recs: FlowRecord[]): Uint8Array {
  const { codecs, lens } = t.flowPlan();
  const out: number[] = [];
  const tb = new TimeBase();
  for (const r of recs) {
    const buf = new Uint8Array(t.fixedLength);
    const dv = new DataView(buf.buffer);
    let p = 0;
    for (let i = 0; i < lens.length; i++) {
      codecs[i]?.enc(dv, p, lens[i], r, tb);
      p += lens[i];
    }
    out.push(...buf);
  }
  return set(t.id, Uint8Array.from(out));
}

/** A data set whose variable-length field (the only one, in layoutForeign) holds `text`. */
export function foreignDataSet(t: Template, r: FlowRecord, text: string): Uint8Array {
  const bytes: number[] = [];
  const push = (v: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--) bytes.push(Math.floor(v / 256 ** i) % 256);
  };
  push(r.src[0], 4);
  bytes.push(1, 2, 3, 4, 5, 6);
  bytes.push(text.length, ...Buffer.from(text));
  push(r.dst[0], 4);
  push(r.packets, 3);
  push(r.octets, 5);
  push(r.protocol, 1);
  push(r.startSec, 4);
  push(r.endSec, 4);
  return set(t.id, Uint8Array.from(bytes));
}

export function optionsDataSet(t: Template, o: OptionsRecord): Uint8Array {
  const { codecs, lens } = t.optionsPlan();
  const buf = new Uint8Array(t.fixedLength);
  const dv = new DataView(buf.buffer);
  let p = 0;
  for (let i = 0; i < lens.length; i++) {
    codecs[i]?.enc(dv, p, lens[i], o, new TimeBase());
    p += lens[i];
  }
  return set(t.id, buf);
}

export function ipfixMessage(seq: number, sets: Uint8Array[], exportSec = 1_800_000_000, domain = 0): Uint8Array {
  const len = 16 + sets.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(len);
  writeIpfixHeader(new DataView(out.buffer), 0, len, exportSec, seq, domain);
  let p = 16;
  for (const s of sets) {
    out.set(s, p);
    p += s.length;
  }
  return out;
}

export function v9Message(seq: number, sets: Uint8Array[], unixSecs = 1_800_000_000, sysUptime = 100_000, sourceId = 0): Uint8Array {
  const len = 20 + sets.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 9);
  dv.setUint16(2, sets.length);
  dv.setUint32(4, sysUptime);
  dv.setUint32(8, unixSecs);
  dv.setUint32(12, seq);
  dv.setUint32(16, sourceId);
  let p = 20;
  for (const s of sets) {
    out.set(s, p);
    p += s.length;
  }
  return out;
}

export { IPFIX, V9 };

/** An IPv4 flow; `n` varies the source address and counters so each record can be told apart. */
export function flow(n: number, startMs = 1_799_999_000_000, durMs = 500): FlowRecord {
  const r = new FlowRecord();
  r.ipVersion = 4;
  r.src[0] = (10 << 24) | n;
  r.dst[0] = ((192 << 24) | (168 << 16) | 7) >>> 0;
  r.packets = n + 1;
  r.octets = 100 * (n + 1);
  r.protocol = 17;
  r.startSec = Math.floor(startMs / 1000);
  r.startNsec = (startMs % 1000) * 1e6;
  r.endSec = Math.floor((startMs + durMs) / 1000);
  r.endNsec = ((startMs + durMs) % 1000) * 1e6;
  return r;
}

/** Session limits for tests: flowcapd's kind of defaults, with a clock an hour's slack into the future. */
export const SESSION_CONFIG: SessionConfig = {
  sampling: 1,
  maxFutureMs: 3600_000,
  stampExporter: true,
  maxTemplates: 512,
  maxPendingSets: 1024,
  maxPendingAgeMs: 60_000,
};
