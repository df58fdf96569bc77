/**
 * NetFlow v5/v9 and IPFIX datagrams through the wire decoders (src/wire): random bytes, and mutations of real
 * exports by softflowd and by flowprobe. Every decoder must return a WireError code and never throw; every error
 * reported inside a message must be a WireError code; every template delivered must be one a collector can use
 * (ID ≥ 256, 1..MAX_TEMPLATE_FIELDS fields, records of at least one byte); a data set must yield no more records
 * than its bytes can hold; and every record must hold values a store can write (integers in their fields' ranges,
 * nanoseconds within the second).
 *
 * The session here is the test's own (a template map per exporter, as test/wire/collect.ts): flowcapd's session
 * layer (src/collect) gets the same inputs once it is committed.
 */
import fc from 'fast-check';
import { WireError } from '../../../src/wire/errors.js';
import { OptionsRecord } from '../../../src/wire/ie.js';
import { IpfixHeader, ipfixTimeBase, walkIpfix } from '../../../src/wire/ipfix.js';
import { FlowRecord } from '../../../src/wire/record.js';
import {
  MAX_TEMPLATE_FIELDS,
  MIN_DATA_SET_ID,
  SetResult,
  Template,
  decodeFlowSet,
  decodeOptionsSet,
  type SetVisitor,
} from '../../../src/wire/template.js';
import { TimeBase } from '../../../src/wire/time.js';
import { V1_HEADER_LENGTH, V5_HEADER_LENGTH, V5_RECORD_LENGTH, V5Header, decodeV5 } from '../../../src/wire/v5.js';
import { V9Header, v9TimeBase, walkV9 } from '../../../src/wire/v9.js';
import type { Export } from '../lib/corpus.js';
import { mutate, mutationsArb, type Mutation } from '../lib/mutate.js';

const CODES = new Set<number>(Object.values(WireError));

const isInt = (x: number, max: number): boolean => Number.isInteger(x) && x >= 0 && x <= max;

/**
 * The first field of a decoded record a store could not take as it is, or null. `scaled`: the counters have been
 * multiplied by a sampling rate, which may be fractional ((interval + space) / interval, RFC 5476 §6.5.2); then
 * they need only be finite and non-negative.
 */
export function brokenRecord(r: FlowRecord, scaled = false): string | null {
  if (r.ipVersion !== 4 && r.ipVersion !== 6) return `ipVersion ${r.ipVersion}`;
  const u8 = { protocol: r.protocol, tos: r.tos, revTos: r.revTos, srcMask: r.srcMask, dstMask: r.dstMask, endReason: r.endReason, direction: r.direction };
  for (const [k, v] of Object.entries(u8)) if (!isInt(v, 0xff)) return `${k} ${v}`;
  const u16 = { srcPort: r.srcPort, dstPort: r.dstPort, tcpFlags: r.tcpFlags, revTcpFlags: r.revTcpFlags, vlan: r.vlan, postVlan: r.postVlan, srcMacHi: r.srcMacHi, dstMacHi: r.dstMacHi };
  for (const [k, v] of Object.entries(u16)) if (!isInt(v, 0xffff)) return `${k} ${v}`;
  const u32 = { inputIf: r.inputIf, outputIf: r.outputIf, srcAs: r.srcAs, dstAs: r.dstAs, srcMacLo: r.srcMacLo, dstMacLo: r.dstMacLo, flowLabel: r.flowLabel };
  for (const [k, v] of Object.entries(u32)) if (!isInt(v, 0xffffffff)) return `${k} ${v}`;
  const u64 = { packets: r.packets, octets: r.octets, revPackets: r.revPackets, revOctets: r.revOctets };
  for (const [k, v] of Object.entries(u64)) {
    if (scaled ? !(Number.isFinite(v) && v >= 0) : !isInt(v, 2 ** 64)) return `${k} ${v}`;
  }
  for (const [k, v] of Object.entries({ startSec: r.startSec, endSec: r.endSec })) if (!Number.isInteger(v)) return `${k} ${v}`;
  for (const [k, v] of Object.entries({ startNsec: r.startNsec, endNsec: r.endNsec })) if (!isInt(v, 999_999_999)) return `${k} ${v}`;
  if (!isInt(r.mplsDepth, 10)) return `mplsDepth ${r.mplsDepth}`;
  if (r.exporterVersion !== 0 && r.exporterVersion !== 4 && r.exporterVersion !== 6) return `exporterVersion ${r.exporterVersion}`;
  return null;
}

function brokenTemplate(t: Template): string | null {
  if (t.id < MIN_DATA_SET_ID || t.id > 0xffff) return `template ID ${t.id}`;
  if (t.fields.length < 1 || t.fields.length > MAX_TEMPLATE_FIELDS) return `template with ${t.fields.length} fields`;
  if (!(t.minRecordLength > 0)) return `template whose records can be ${t.minRecordLength} bytes`;
  if (t.scopeCount < 0 || t.scopeCount > t.fields.length || (!t.options && t.scopeCount !== 0)) return `scope count ${t.scopeCount}`;
  return null;
}

/** A failure the property reports; thrown so fast-check shrinks towards it. */
class Broken extends Error {}

export interface WireStats {
  datagrams: number;
  headerErrors: number;
  setErrors: number;
  templates: number;
  records: number;
  options: number;
}

export function newWireStats(): WireStats {
  return { datagrams: 0, headerErrors: 0, setErrors: 0, templates: 0, records: 0, options: 0 };
}

/** One exporter's state as a collector keeps it: templates by ID, and IPFIX's uptime base from options data. */
export class Session {
  readonly templates = new Map<number, Template>();
  private systemInit = NaN;
  private readonly rec = new FlowRecord();
  private readonly opt = new OptionsRecord();
  private readonly res = new SetResult();
  private readonly tb = new TimeBase();

  constructor(readonly stats: WireStats = newWireStats()) {}

  /** Decodes one datagram as `version`; throws Broken on a rule broken, never for the datagram being bad. */
  feed(version: 5 | 9 | 10, d: Uint8Array): void {
    const st = this.stats;
    st.datagrams++;
    if (version === 5) {
      let n = 0;
      const h = new V5Header();
      const code = decodeV5(d, h, this.rec, {
        onFlow: (r) => {
          n++;
          const b = brokenRecord(r);
          if (b) throw new Broken(`v5 record: ${b}`);
        },
      });
      if (!CODES.has(code)) throw new Broken(`decodeV5 returned ${code}`);
      if (code !== WireError.OK) st.headerErrors++;
      const hl = h.version === 1 ? V1_HEADER_LENGTH : V5_HEADER_LENGTH;
      if (n > Math.max(0, (d.length - hl) / V5_RECORD_LENGTH)) throw new Broken(`${n} v${h.version} records from ${d.length} bytes`);
      st.records += n;
      return;
    }
    const pending: [number, DataView, number, number][] = [];
    const visitor: SetVisitor = {
      onTemplate: (t) => {
        const b = brokenTemplate(t);
        if (b) throw new Broken(b);
        st.templates++;
        this.templates.set(t.id, t);
      },
      onWithdraw: (id, options) => {
        if (id === 2 || id === 3) {
          for (const [k, t] of this.templates) if (t.options === options) this.templates.delete(k);
        } else this.templates.delete(id);
      },
      onDataSet: (id, dv, s, e) => {
        if (id < MIN_DATA_SET_ID || s < 0 || e > dv.byteLength || s > e) throw new Broken(`data set ${id} [${s}, ${e})`);
        pending.push([id, dv, s, e]);
      },
      onError: (code, offset) => {
        if (!CODES.has(code) || code === WireError.OK) throw new Broken(`onError(${code})`);
        if (!(offset >= 0 && offset < d.length)) throw new Broken(`error offset ${offset} outside the ${d.length}-byte datagram`);
        st.setErrors++;
      },
    };
    const h = version === 9 ? new V9Header() : new IpfixHeader();
    const code = version === 9 ? walkV9(d, h as V9Header, visitor) : walkIpfix(d, h as IpfixHeader, visitor);
    if (!CODES.has(code)) throw new Broken(`walk returned ${code}`);
    if (code !== WireError.OK) {
      st.headerErrors++;
      if (pending.length) throw new Broken('data sets reported from a datagram whose header was refused');
      return;
    }
    if (version === 9) v9TimeBase(h as V9Header, this.tb);
    else ipfixTimeBase(h as IpfixHeader, this.systemInit, this.tb);
    for (const [id, dv, s, e] of pending) {
      const t = this.templates.get(id);
      if (!t) continue;
      let n = 0;
      if (t.options) {
        decodeOptionsSet(dv, s, e, t, this.tb, this.opt, (o) => {
          n++;
          if (o.systemInitTimeMs > 0) this.systemInit = o.systemInitTimeMs;
        }, this.res);
        st.options += n;
      } else {
        decodeFlowSet(dv, s, e, t, this.tb, this.rec, {
          onFlow: (r) => {
            n++;
            const b = brokenRecord(r);
            if (b) throw new Broken(`record ${n} of set ${id}: ${b}`);
          },
        }, this.res);
        st.records += n;
      }
      if (!CODES.has(this.res.error)) throw new Broken(`data set error ${this.res.error}`);
      if (this.res.error !== WireError.OK) st.setErrors++;
      if (n !== this.res.records) throw new Broken(`${n} records delivered, ${this.res.records} counted`);
      if (n > (e - s) / t.minRecordLength) throw new Broken(`${n} records of at least ${t.minRecordLength} bytes in ${e - s} bytes`);
    }
  }
}

export interface WireCase {
  /** Which export it came from (index), and how many of its datagrams prime the session's templates. */
  exp: number;
  prime: number;
  datagram: Uint8Array;
  how: string;
}

/**
 * A datagram: a real one mutated (after the session has seen the export's datagrams before it, so data sets meet
 * real templates), a real header followed by random bytes, or random bytes.
 */
export function wireCaseArb(exports: readonly Export[]): fc.Arbitrary<WireCase> {
  const pick = fc.integer({ min: 0, max: exports.length - 1 }).chain((exp) =>
    fc.record({ exp: fc.constant(exp), k: fc.integer({ min: 0, max: exports[exp]!.datagrams.length - 1 }) }),
  );
  const mutated = fc.record({ p: pick, muts: mutationsArb(6) }).map(({ p, muts }) => ({
    exp: p.exp,
    prime: p.k,
    datagram: mutate(exports[p.exp]!.datagrams[p.k]!, muts),
    how: `mutated datagram ${p.k}: ${JSON.stringify(muts, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v))}`,
  }));
  const headerThenRandom = fc.record({ p: pick, cut: fc.integer({ min: 0, max: 24 }), body: fc.uint8Array({ maxLength: 600 }) }).map(({ p, cut, body }) => {
    const real = exports[p.exp]!.datagrams[p.k]!;
    const d = new Uint8Array(cut + body.length);
    d.set(real.subarray(0, cut));
    d.set(body, Math.min(cut, real.length));
    return { exp: p.exp, prime: p.k, datagram: d, how: `first ${cut} bytes of datagram ${p.k}, then random` };
  });
  const random = fc.record({ exp: fc.integer({ min: 0, max: exports.length - 1 }), d: fc.uint8Array({ maxLength: 1500 }) }).map(({ exp, d }) => ({
    exp,
    prime: 0,
    datagram: d,
    how: 'random bytes',
  }));
  return fc.oneof({ weight: 6, arbitrary: mutated }, { weight: 2, arbitrary: headerThenRandom }, { weight: 1, arbitrary: random });
}

/**
 * Decodes the case with its export's version in a session primed by the export's earlier datagrams, and with the
 * other two decoders in fresh sessions. Throws on a broken rule.
 */
export function checkWireCase(exports: readonly Export[], c: WireCase, stats?: WireStats): void {
  const e = exports[c.exp]!;
  const s = new Session(stats);
  try {
    for (let i = 0; i < c.prime; i++) s.feed(e.version, e.datagrams[i]!);
  } catch (err) {
    throw new Error(`${e.origin}: the unmutated datagrams broke a rule: ${(err as Error).message}`);
  }
  for (const v of [5, 9, 10] as const) {
    const session = v === e.version ? s : new Session(stats);
    try {
      session.feed(v, c.datagram);
    } catch (err) {
      const why = err instanceof Broken ? err.message : `threw ${(err as Error)?.stack ?? String(err)}`;
      throw new Error(`${e.origin}, ${c.how}, decoded as v${v}: ${why}`);
    }
  }
}

export function wireProperty(exports: readonly Export[], stats?: WireStats): fc.IPropertyWithHooks<[WireCase]> {
  return fc.property(wireCaseArb(exports), (c) => checkWireCase(exports, c, stats));
}

/**
 * Streams: a run of one export's datagrams, some of them mutated, fed in order through one session (so templates
 * are replaced, withdrawn and redefined mid-stream by the mutations, and later data meets the changed ones).
 */
export function wireStreamProperty(exports: readonly Export[], stats?: WireStats): fc.IPropertyWithHooks<[number, (Mutation[] | null)[]]> {
  return fc.property(
    fc.integer({ min: 0, max: exports.length - 1 }),
    fc.array(fc.option(mutationsArb(4), { freq: 2 }), { minLength: 1, maxLength: 24 }),
    (exp, plan) => {
      const e = exports[exp]!;
      const s = new Session(stats);
      plan.forEach((step, i) => {
        const real = e.datagrams[i % e.datagrams.length]!;
        const d = step ? mutate(real, step) : real;
        try {
          s.feed(e.version, d);
        } catch (err) {
          const why = err instanceof Broken ? err.message : `threw ${(err as Error)?.stack ?? String(err)}`;
          throw new Error(`${e.origin}, stream step ${i}: ${why}`);
        }
      });
    },
  );
}
