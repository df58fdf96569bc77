/**
 * Templates compiled into functions: one function per flow template that reads (or writes) a whole record, its
 * fields at offsets known in advance, the common fields as inline reads and writes of the FlowRecord. Calling each
 * field's codec from one loop (template.ts's decodeRecords) is a call V8 can neither inline nor predict, and was
 * most of what a receiver spent per flow; these functions do the same work in straight-line code.
 *
 * ie.ts stays the definition of every field: a field this module has no inline text for is read or written by its
 * codec (from a call site of its own), and test/wire/compiled.test.ts checks every inline text against its codec
 * at every length the codec takes. The generated source holds only numbers, FlowRecord property names from the
 * table below and parameter names: nothing from the wire becomes code, only the template's field numbers select
 * among these texts.
 */
import { readUnsigned, writeUnsigned } from './bytes.js';
import { WireError } from './errors.js';
import { FLOW_CODECS, IE, PEN_REVERSE, ieKey, type FieldCodec } from './ie.js';
import type { FlowRecord, FlowSink } from './record.js';
import type { RecordPlan, SetResult, Template } from './template.js';
import { NTP_UNIX_OFFSET, mod32, nsecToNtpFrac, setRecordMs, setRecordTime, type TimeBase } from './time.js';

/** Fields a template may have and still be compiled; larger (hostile or odd) ones keep the generic loop. */
export const MAX_COMPILED_FIELDS = 128;

/** Numeric FlowRecord properties that a plain unsigned field sets (RFC 7012 numbers, as in ie.ts). */
const UINT_PROPS: [pen: number, id: number, prop: keyof FlowRecord][] = [
  [0, IE.octetDeltaCount, 'octets'],
  [0, IE.packetDeltaCount, 'packets'],
  [0, IE.protocolIdentifier, 'protocol'],
  [0, IE.ipClassOfService, 'tos'],
  [0, IE.tcpControlBits, 'tcpFlags'],
  [0, IE.sourceTransportPort, 'srcPort'],
  [0, IE.sourceIPv4PrefixLength, 'srcMask'],
  [0, IE.ingressInterface, 'inputIf'],
  [0, IE.destinationTransportPort, 'dstPort'],
  [0, IE.destinationIPv4PrefixLength, 'dstMask'],
  [0, IE.egressInterface, 'outputIf'],
  [0, IE.bgpSourceAsNumber, 'srcAs'],
  [0, IE.bgpDestinationAsNumber, 'dstAs'],
  [0, IE.sourceIPv6PrefixLength, 'srcMask'],
  [0, IE.destinationIPv6PrefixLength, 'dstMask'],
  [0, IE.flowLabelIPv6, 'flowLabel'],
  [0, IE.vlanId, 'vlan'],
  [0, IE.dot1qVlanId, 'vlan'],
  [0, IE.postVlanId, 'postVlan'],
  [0, IE.flowDirection, 'direction'],
  [0, IE.flowEndReason, 'endReason'],
  [PEN_REVERSE, IE.octetDeltaCount, 'revOctets'],
  [PEN_REVERSE, IE.packetDeltaCount, 'revPackets'],
  [PEN_REVERSE, IE.ipClassOfService, 'revTos'],
  [PEN_REVERSE, IE.tcpControlBits, 'revTcpFlags'],
];

/** Address fields: the FlowRecord word array, its width in words, and whether the field says the family. */
const ADDR_FIELDS: [id: number, words: 'src' | 'dst' | 'nextHop', n: 1 | 4, sets: boolean][] = [
  [IE.sourceIPv4Address, 'src', 1, true],
  [IE.destinationIPv4Address, 'dst', 1, true],
  [IE.ipNextHopIPv4Address, 'nextHop', 1, false],
  [IE.sourceIPv6Address, 'src', 4, true],
  [IE.destinationIPv6Address, 'dst', 4, true],
  [IE.ipNextHopIPv6Address, 'nextHop', 4, false],
];

/** `len` bytes at `off` as an unsigned number: the expression bytes.ts's readUnsigned evaluates to. */
function readExpr(off: string, len: number): string {
  switch (len) {
    case 1:
      return `dv.getUint8(${off})`;
    case 2:
      return `dv.getUint16(${off})`;
    case 4:
      return `dv.getUint32(${off})`;
    case 8:
      return `(dv.getUint32(${off}) * 4294967296 + dv.getUint32(${off} + 4))`;
    default:
      return `readUnsigned(dv, ${off}, ${len})`;
  }
}

/**
 * Set while a transcoder's stores are made (see compileTranscoder). There the DataView calls compile to plain
 * stores, with a quarter of the byte stores' graph, which makes the function much cheaper for V8 to compile; and
 * `ranges` holds the largest value of each property the record got from a plain unsigned read (as `r.prop`), whose
 * stores need no saturation when the field is as wide; a property not in `set` is never set, so 0.
 */
let transcoding: { ranges: Map<string, number>; set: Set<string> } | null = null;

/**
 * DataView's setUint16(off, v) as byte stores into `b` (the same bytes): V8 left some DataView stores as calls into
 * the runtime in these functions, typed-array element stores it does not. Both convert through ToUint32 and keep
 * the low bits, so the bytes are the same for any number.
 */
function set16(off: string, v: string): string {
  if (transcoding !== null) return `dv.setUint16(${off}, ${v});`;
  return `b[${off}] = ${v} >>> 8; b[${off} + 1] = ${v};`;
}

/** DataView's setUint32(off, v) as byte stores into `b`, for the same reason (v is converted once, as ToUint32). */
function set32(off: string, v: string): string {
  if (transcoding !== null) return `dv.setUint32(${off}, ${v});`;
  return `{ const u = ${v} >>> 0; b[${off}] = u >>> 24; b[${off} + 1] = u >>> 16; b[${off} + 2] = u >>> 8; b[${off} + 3] = u; }`;
}

/** Writes `v` saturated into `len` bytes: what bytes.ts's writeUnsigned does. */
function writeStmt(off: string, len: number, v: string): string {
  const known = transcoding === null ? undefined : (transcoding.ranges.get(v) ?? (/^r\.\w+$/.test(v) && !transcoding.set.has(v) ? 0 : undefined));
  // v % 2^32 as a subtraction (see setMs): the high word times 2^32 is exact, and so is what it leaves of v.
  if (len === 8) {
    if (known !== undefined && known < 4294967296) return `dv.setUint32(${off}, 0); dv.setUint32(${off} + 4, ${v});`;
    return `{ let v = ${v}; if (!(v > 0)) v = 0; const h = Math.floor(v / 4294967296); dv.setUint32(${off}, h); dv.setUint32(${off} + 4, v - h * 4294967296); }`;
  }
  const max = 2 ** (8 * len) - 1;
  if (known !== undefined && known <= max && (len === 1 || len === 2 || len === 4)) {
    return len === 1 ? `b[${off}] = ${v};` : len === 2 ? set16(off, v) : set32(off, v);
  }
  // `v` read once: it may be a call (a codec's value function).
  const sat = `const w = ${v}; const v = w > 0 ? (w > ${max} ? ${max} : w) : 0;`;
  if (len === 1) return `{ ${sat} b[${off}] = v; }`;
  if (len === 2) return `{ ${sat} ${set16(off, 'v')} }`;
  if (len === 4) return `{ ${sat} ${set32(off, 'v')} }`;
  return `writeUnsigned(dv, ${off}, ${len}, ${v});`;
}

/**
 * time.ts's setRecordMs for `ms`. V8 computes % on doubles with an x87 loop whose cost grows with the dividend (for
 * milliseconds since 1970, it was most of the time decoding a record took); for whole milliseconds from 0 to 2^42
 * (the year 2109) the quotient is exact and the remainder a subtraction. Anything else takes setRecordMs.
 */
function setMs(end: boolean, ms: string): string {
  const [sec, nsec] = end ? ['endSec', 'endNsec'] : ['startSec', 'startNsec'];
  return (
    `{ const ms = ${ms}; if (ms >= 0 && ms <= 4398046511104 && ms === Math.floor(ms)) { const s = Math.floor(ms / 1000); ` +
    `r.${sec} = s; r.${nsec} = (ms - s * 1000) * 1e6; } else setRecordMs(r, ${end}, ms); }`
  );
}

interface InlineText {
  dec?: (off: string, len: number) => string;
  enc?: (off: string, len: number) => string;
}

function buildInline(): Map<FieldCodec<FlowRecord>, InlineText> {
  const m = new Map<FieldCodec<FlowRecord>, InlineText>();
  const put = (pen: number, id: number, t: InlineText): void => {
    const c = FLOW_CODECS.get(ieKey(pen, id));
    if (c === undefined) throw new Error(`no codec for IE ${pen}/${id}`);
    m.set(c, t);
  };
  for (const [pen, id, prop] of UINT_PROPS) {
    put(pen, id, {
      dec: (off, len) => `r.${prop} = ${readExpr(off, len)};`,
      enc: (off, len) => writeStmt(off, len, `r.${prop}`),
    });
  }
  // A zero ICMP type/code must not wipe a port read before it (see ie.ts).
  for (const id of [IE.icmpTypeCodeIPv4, IE.icmpTypeCodeIPv6]) {
    put(0, id, { dec: (off, len) => `r.dstPort = ${readExpr(off, len)} || r.dstPort;` });
  }
  put(0, IE.ipVersion, { dec: () => '' });
  for (const [id, words, n, sets] of ADDR_FIELDS) {
    put(0, id, {
      dec: (off) => {
        let s = '';
        for (let i = 0; i < n; i++) s += `r.${words}[${i}] = dv.getUint32(${off} + ${4 * i}); `;
        return sets ? `${s}r.ipVersion = ${n === 1 ? 4 : 6};` : s;
      },
      enc: (off) => {
        let s = '';
        for (let i = 0; i < n; i++) s += `${set32(`${off} + ${4 * i}`, `r.${words}[${i}]`)} `;
        return s;
      },
    });
  }
  for (const [id, end] of [[IE.flowStartSysUpTime, false], [IE.flowEndSysUpTime, true]] as const) {
    // TimeBase.uptimeToMs, without mod32's % for the difference of two 32-bit values (see setMs). Not
    // `d + (d < 0 ? 2^32 : 0)` nor `d >>> 0`: V8 compiled those for the small integers it had seen, and threw the
    // code away at the first flow ending after its message's sysUptime (lost precision, once or twice per v9 run).
    // d + 2^32 is never a small integer, so the code is for doubles from the start; both steps are exact. It differs
    // from mod32 only for d = -0, and not in the sum.
    put(0, id, {
      dec: (off, len) =>
        `if (tb.uptimeZeroMs !== tb.uptimeZeroMs) tb.unresolved++; else { const d = tb.nowUptimeMs - ${readExpr(off, len)}; ` +
        `const m = d > -4294967296 && d < 4294967296 ? d + 4294967296 - (d >= 0 ? 4294967296 : 0) : mod32(d); ` +
        `${setMs(end, 'tb.uptimeZeroMs + tb.nowUptimeMs - m')} }`,
    });
  }
  for (const [id, end] of [[IE.flowStartMilliseconds, false], [IE.flowEndMilliseconds, true]] as const) {
    put(0, id, { dec: (off, len) => setMs(end, readExpr(off, len)) });
  }
  for (const [id, end] of [[IE.flowStartSeconds, false], [IE.flowEndSeconds, true]] as const) {
    put(0, id, { dec: (off, len) => `setRecordTime(r, ${end}, ${readExpr(off, len)}, 0);` });
  }
  for (const [id, sec, nsec] of [[IE.flowStartNanoseconds, 'startSec', 'startNsec'], [IE.flowEndNanoseconds, 'endSec', 'endNsec']] as const) {
    put(0, id, {
      enc: (off) => `dv.setUint32(${off}, (r.${sec} + ${NTP_UNIX_OFFSET}) >>> 0); dv.setUint32(${off} + 4, nsecToNtpFrac(r.${nsec}));`,
    });
  }
  for (const [id, hi, lo] of [[IE.sourceMacAddress, 'srcMacHi', 'srcMacLo'], [IE.destinationMacAddress, 'dstMacHi', 'dstMacLo']] as const) {
    put(0, id, { enc: (off) => `{ const v = r.${hi}; ${set16(off, 'v')} } dv.setUint32(${off} + 2, r.${lo});` });
  }
  for (const [id, n] of [[IE.exporterIPv4Address, 1], [IE.exporterIPv6Address, 4]] as const) {
    put(0, id, {
      enc: (off) => {
        let s = '';
        for (let i = 0; i < n; i++) s += `dv.setUint32(${off} + ${4 * i}, r.exporter[${i}]); `;
        return s;
      },
    });
  }
  return m;
}

const INLINE = buildInline();

/** What the generated functions may call: passed in as parameters, so the text names nothing global. */
/** The NTP fraction of each whole millisecond of a second: nsecToNtpFrac(ms·10^6), read by the transcoders. */
const FRAC_MS = Uint32Array.from({ length: 1000 }, (_, ms) => nsecToNtpFrac(ms * 1e6));

const HELPERS = { readUnsigned, writeUnsigned, setRecordMs, setRecordTime, nsecToNtpFrac, mod32, FRAC_MS } as const;

/** FlowRecord.clear() as plain stores: typed-array fill() is a call into the runtime, dearer than the stores. */
function clearText(): string {
  const words = (a: string, n: number): string => Array.from({ length: n }, (_, i) => `r.${a}[${i}] = 0;`).join(' ');
  return [
    'r.ipVersion = 4;',
    words('src', 4),
    words('dst', 4),
    words('nextHop', 4),
    'r.srcPort = r.dstPort = r.protocol = r.tcpFlags = r.tos = 0;',
    'r.packets = r.octets = 0;',
    'r.startSec = r.startNsec = r.endSec = r.endNsec = 0;',
    'r.endReason = r.direction = r.inputIf = r.outputIf = 0;',
    'r.vlan = r.postVlan = 0;',
    'r.srcMacHi = r.srcMacLo = r.dstMacHi = r.dstMacLo = 0;',
    'r.flowLabel = r.srcAs = r.dstAs = r.srcMask = r.dstMask = 0;',
    'r.mplsDepth = 0;',
    words('mpls', 10),
    'r.revPackets = r.revOctets = r.revTcpFlags = r.revTos = 0;',
    words('exporter', 4),
    'r.exporterVersion = 0;',
  ].join('\n');
}

/** Each field's statement, in record order, for a record at `base`; what the text calls goes into names/values. */
function fieldLines(plan: RecordPlan<FlowRecord>, which: 'dec' | 'enc', base: string, names: string[], values: unknown[]): string[] {
  const lines: string[] = [];
  let off = 0;
  plan.codecs.forEach((c, i) => {
    const len = plan.lens[i];
    if (c !== undefined) {
      const at = `${base} + ${off}`;
      const text = INLINE.get(c)?.[which];
      if (text !== undefined) lines.push(text(at, len));
      else if (which === 'enc' && c.value !== undefined && (len === 1 || len === 2 || len === 4)) {
        // A field written as one unsigned value (the uptimes, the times in seconds or ms): the value from its
        // function, stored saturated in place rather than through the codec's enc and writeUnsigned's switch.
        names.push(`v${i}`);
        values.push(c.value);
        lines.push(writeStmt(at, len, `v${i}(r, tb)`));
      } else {
        names.push(`c${i}`);
        values.push(c);
        lines.push(`c${i}.${which}(dv, ${at}, ${len}, r, tb);`);
      }
    }
    off += len;
  });
  return lines;
}

function make<F>(params: string, body: string, names: string[], values: unknown[], name = ''): F {
  const helpers = Object.keys(HELPERS);
  const f = new Function(...helpers, ...names, `return function ${name}(${params}) {\n${body}\n};`);
  return f(...Object.values(HELPERS), ...values) as F;
}

function build<F>(plan: RecordPlan<FlowRecord>, params: string, body: (fields: string) => string, which: 'dec' | 'enc'): F {
  const names: string[] = [];
  const values: unknown[] = [];
  const lines = fieldLines(plan, which, 'p', names, values);
  return make<F>(params, body(lines.join('\n')), names, values);
}

/** Whether {@link compileFlowDecoder} takes this template: fixed-length flow records of a bounded field count. */
export function compilable(t: Template): boolean {
  return !t.options && t.fixedLength > 0 && t.fields.length <= MAX_COMPILED_FIELDS;
}

/** Reads one record at `p` into `r` (cleared first); the caller has checked that the record is whole. */
export type FlowRecordDecoder = (dv: DataView, p: number, r: FlowRecord, tb: TimeBase) => void;

/** A fixed-length flow template compiled for decoding: its record reader and record length. */
export interface FlowSetDecoder {
  readonly record: FlowRecordDecoder;
  readonly length: number;
}

/** The decoder of a fixed-length flow template (see {@link compilable}), for {@link decodeCompiledSet}. */
export function compileFlowDecoder(t: Template): FlowSetDecoder {
  if (!compilable(t)) throw new RangeError(`template ${t.id} cannot be compiled`);
  return { record: build<FlowRecordDecoder>(t.flowPlan(), 'dv, p, r, tb', (fields) => `${clearText()}\n${fields}`, 'dec'), length: t.fixedLength };
}

/**
 * Decodes a data set as template.ts's decodeFlowSet does: the same records, in the same order, with the same result.
 * A record is whole whenever its length is left, so no field check is needed inside it; bytes after the last whole
 * record are padding. The loop is one for every template, so what the sink does per flow is compiled once, not
 * into each template's reader.
 */
export function decodeCompiledSet(
  d: FlowSetDecoder,
  dv: DataView,
  start: number,
  end: number,
  tb: TimeBase,
  rec: FlowRecord,
  sink: FlowSink,
  out: SetResult,
): number {
  out.records = 0;
  out.error = WireError.OK;
  const n = d.length;
  const read = d.record;
  for (let p = start; end - p >= n; p += n) {
    read(dv, p, rec, tb);
    sink.onFlow(rec);
    out.records++;
  }
  return WireError.OK;
}

/**
 * Writes one record of a fixed-length flow template at `p`, as its codecs' enc would, field after field; `b` and `dv`
 * view the same bytes.
 */
export type FlowRecordWriter = (dv: DataView, b: Uint8Array, p: number, r: FlowRecord, tb: TimeBase) => void;

export function compileFlowWriter(t: Template): FlowRecordWriter {
  if (t.options || t.fixedLength <= 0) throw new RangeError(`template ${t.id} has no fixed-length flow records`);
  const plan = t.flowPlan();
  if (plan.codecs.some((c) => c === undefined)) throw new RangeError(`template ${t.id} has a field no codec writes`);
  return build<FlowRecordWriter>(plan, 'dv, b, p, r, tb', (fields) => fields, 'enc');
}

/** Layouts compiled so far: exporters of one kind share templates, and a flow file reader meets the same ones. */
const decoders = new Map<string, FlowSetDecoder>();
/** Bounds what a peer defining ever new layouts can make us keep. */
const MAX_CACHED_DECODERS = 256;

/** {@link compileFlowDecoder}, once per layout (version, field numbers and lengths) for the whole process. */
export function flowDecoderFor(t: Template): FlowSetDecoder {
  let key = `${t.version}`;
  for (const f of t.fields) key += ` ${f.pen}/${f.id}/${f.length}`;
  let d = decoders.get(key);
  if (d === undefined) {
    d = compileFlowDecoder(t);
    if (decoders.size >= MAX_CACHED_DECODERS) decoders.delete(decoders.keys().next().value as string);
    decoders.set(key, d);
  }
  return d;
}

/** What a {@link FlowTranscoder} takes besides the bytes, and the sums it leaves (one reused object per caller). */
export class TranscodeState {
  /** The exporter's address words, written into every record (a collector's stamp). */
  e0 = 0;
  e1 = 0;
  e2 = 0;
  e3 = 0;
  /** A record starting or ending after this (ms since the epoch) is left to the caller; Infinity: none is. */
  limitMs = Infinity;
  /** Packets and octets of the records the last call wrote. */
  packets = 0;
  octets = 0;
}

/**
 * Reads up to `count` whole records of one template from `p` on and writes each as a record of another at `q`
 * (`ob` and `odv` view the output), field for field what decoding into a FlowRecord, stamping the exporter from
 * `x` and writing that record would give. Returns how many it wrote: fewer than `count` when the next record ends
 * before it starts or lies beyond `x.limitMs`, which the caller then takes the FlowRecord way. `r` is scratch, for
 * the rare times that need time.ts's general arithmetic.
 */
export type FlowTranscoder = (
  dv: DataView, p: number, count: number, ob: Uint8Array, odv: DataView, q: number, tb: TimeBase, x: TranscodeState, r: FlowRecord,
) => number;

/**
 * The time fields as a transcoder reads them: into locals of the time's seconds, NTP fraction and milliseconds
 * (`r_startSec`, `r_startFrac`, `r_startMs`), which are what the file's NTP timestamp and Session.deliver's checks
 * use. The decoder's way (setMs into seconds and nanoseconds, then nanoseconds to milliseconds for the checks and to
 * an NTP fraction for the file) took six divisions per time, most of a transcoded record's time; here a whole
 * millisecond takes one, and its fraction is read from FRAC_MS. The values are the same: for a whole millisecond
 * count ms, nanoseconds are (ms mod 1000)·10^6 exactly, and back to milliseconds they give ms. Anything else takes
 * time.ts's general arithmetic on the scratch record `r`, as the decoder does. `uz`, `nu` and `base` are the
 * message's uptime base (tb.uptimeZeroMs, tb.nowUptimeMs and their sum), read once per call.
 */
const TRANSCODED_TIMES = ((): Map<FieldCodec<FlowRecord>, (off: string, len: number) => string> => {
  const m = new Map<FieldCodec<FlowRecord>, (off: string, len: number) => string>();
  const put = (id: number, text: (off: string, len: number) => string): void => {
    const c = FLOW_CODECS.get(ieKey(0, id));
    if (c === undefined) throw new Error(`no codec for IE ${id}`);
    m.set(c, text);
  };
  const general = (end: boolean): string => {
    const [w, sec, nsec] = end ? ['end', 'endSec', 'endNsec'] : ['start', 'startSec', 'startNsec'];
    return `r_${w}Sec = r.${sec}; r_${w}Frac = nsecToNtpFrac(r.${nsec}); r_${w}Ms = r.${sec} * 1000 + Math.floor(r.${nsec} / 1e6);`;
  };
  // As setMs: whole milliseconds from 0 to 2^42 have an exact quotient and remainder; the rest take setRecordMs. The
  // quotient is taken by multiplying (a division was the slowest step of a record): ms·0.001 is within 10^-6 of
  // ms/1000, which for a whole ms is a whole number or at least 0.001 from one, so its floor is the quotient or, for
  // a multiple of 1000, one less, which the remainder shows (1000) and the step after it corrects. `f | 0` is f,
  // a whole number from 0 to 999, given to the table index as an integer without a check.
  const fromMs = (end: boolean, ms: string): string => {
    const w = end ? 'end' : 'start';
    return (
      `{ const ms = ${ms}; if (ms >= 0 && ms <= 4398046511104 && ms === Math.floor(ms)) { let s = Math.floor(ms * 0.001); ` +
      `let f = ms - s * 1000; if (f >= 1000) { s += 1; f -= 1000; } else if (f < 0) { s -= 1; f += 1000; } ` +
      `r_${w}Sec = s; r_${w}Frac = FRAC_MS[f | 0]; r_${w}Ms = ms; } else { setRecordMs(r, ${end}, ms); ${general(end)} } }`
    );
  };
  for (const [id, end] of [[IE.flowStartSysUpTime, false], [IE.flowEndSysUpTime, true]] as const) {
    // The uptime arithmetic of INLINE's text for these fields (see there), with the base read once.
    put(id, (off, len) =>
      `if (uz !== uz) unresolved++; else { const d = nu - ${readExpr(off, len)}; ` +
      `const m = d > -4294967296 && d < 4294967296 ? d + 4294967296 - (d >= 0 ? 4294967296 : 0) : mod32(d); ` +
      `${fromMs(end, 'base - m')} }`);
  }
  for (const [id, end] of [[IE.flowStartMilliseconds, false], [IE.flowEndMilliseconds, true]] as const) {
    put(id, (off, len) => fromMs(end, readExpr(off, len)));
  }
  for (const [id, end] of [[IE.flowStartSeconds, false], [IE.flowEndSeconds, true]] as const) {
    put(id, (off, len) => `{ setRecordTime(r, ${end}, ${readExpr(off, len)}, 0); ${general(end)} }`);
  }
  return m;
})();

/** `r.prop` and `r.words[i]` in the field texts: in a transcoder each is a local, `r_prop` and `r_words_i`. */
const LOCAL = /\br\.(\w+)(?:\[(\d+)\])?/g;

/**
 * {@link FlowTranscoder} from flow template `from` to `to`, or null when the two do not line up: a field of `from`
 * has no inline text, or sets something `to` does not carry (so the record would need another layout), or `from`
 * names both address families. The record is never a FlowRecord: each property is a local of the generated
 * function, so what `from` does not carry is a constant zero in what `to` writes.
 */
export function compileTranscoder(from: Template, to: Template): FlowTranscoder | null {
  if (!compilable(from) || to.options || to.fixedLength <= 0) return null;
  const plan = from.flowPlan();
  if (plan.codecs.some((c) => c !== undefined && INLINE.get(c)?.dec === undefined)) return null;
  const names: string[] = [];
  const values: unknown[] = [];
  const local = (_: string, prop: string, i?: string): string => (i === undefined ? `r_${prop}` : `r_${prop}_${i}`);
  const dec: string[] = [];
  let off = 0;
  plan.codecs.forEach((c, i) => {
    if (c !== undefined) {
      const time = TRANSCODED_TIMES.get(c);
      dec.push(time !== undefined ? time(`p + ${off}`, plan.lens[i]) : INLINE.get(c)!.dec!(`p + ${off}`, plan.lens[i]).replace(LOCAL, local));
    }
    off += plan.lens[i];
  });
  const encPlan = to.flowPlan();
  if (encPlan.codecs.some((c) => c === undefined || INLINE.get(c)?.enc === undefined)) return null;
  // A property set once, by a plain read of 1, 2 or 4 bytes, is within that width.
  const sets = new Map<string, number>();
  for (const l of dec) for (const m of l.matchAll(/\b(r_\w+) = /g)) sets.set(m[1], (sets.get(m[1]) ?? 0) + 1);
  const ranges = new Map<string, number>();
  for (const l of dec) {
    const m = /^r_([A-Za-z]+) = dv\.getUint(8|16|32)\(p \+ \d+\);$/.exec(l);
    if (m !== null && sets.get(`r_${m[1]}`) === 1) ranges.set(`r.${m[1]}`, 2 ** Number(m[2]) - 1);
  }
  transcoding = { ranges, set: new Set([...sets.keys()].map((l) => `r.${l.slice(2)}`)) };
  let encLines: string[];
  try {
    encLines = fieldLines(encPlan, 'enc', 'q', names, values);
  } finally {
    transcoding = null;
  }
  // An NTP time's fraction is the one the record's time got (see TRANSCODED_TIMES).
  const enc = encLines.map((l) =>
    l.replace(LOCAL, local).replace(/\bdv\./g, 'odv.').replace(/\bb\[/g, 'ob[').replace(/nsecToNtpFrac\(r_(start|end)Nsec\)/g, 'r_$1Frac'),
  );
  if (enc.some((l) => /\br_(start|end)Nsec\b/.test(l))) return null;
  const set = new Set<string>();
  const versions = new Set<string>();
  for (const l of dec) {
    for (const m of l.matchAll(/\b(r_\w+) = /g)) set.add(m[1]);
    for (const m of l.matchAll(/\br_ipVersion = (\d)/g)) versions.add(m[1]);
  }
  const read = new Set<string>();
  for (const l of enc) for (const m of l.matchAll(/\br_\w+/g)) read.add(m[0]);
  // (A time's milliseconds are for the checks below; its seconds and fraction are what `to` must carry.)
  if (versions.size > 1 || [...set].some((v) => v !== 'r_ipVersion' && !/^r_(start|end)Ms$/.test(v) && !read.has(v))) return null;
  // The layout `to` has for the family `from` says: an IPv6 layout writes four words of each address.
  if ((versions.has('6') ? 6 : 4) !== (read.has('r_src_1') ? 6 : 4)) return null;
  for (const t of ['startSec', 'startFrac', 'startMs', 'endSec', 'endFrac', 'endMs', 'packets', 'octets']) read.add(`r_${t}`);
  // What `from` never sets is the same for every record: written as the constant, it costs the compiler little.
  const constant = (v: string): string | undefined => {
    if (set.has(v)) return undefined;
    const e = /^r_exporter_(\d)$/.exec(v);
    return e ? `e${e[1]}` : v === 'r_ipVersion' ? '4' : '0';
  };
  const encText = zeroRuns(enc.map((l) => l.replace(/\br_\w+/g, (v) => constant(v) ?? v)), encPlan.lens);
  // The times and counters are read by the checks and sums below even when `from` lacks them.
  const init = [...new Set([...read, ...set])]
    .filter((v) => constant(v) === undefined || /^r_(start|end)|^r_(packets|octets)$/.test(v))
    .map((v) => `${v} = ${v === 'r_ipVersion' ? '4' : '0'}`);
  const body = [
    'const limit = x.limitMs, e0 = x.e0, e1 = x.e1, e2 = x.e2, e3 = x.e3;',
    // The message's uptime base, the same for every record (see TRANSCODED_TIMES).
    'const uz = tb.uptimeZeroMs, nu = tb.nowUptimeMs, base = uz + nu;',
    'let packets = 0, octets = 0, i = 0;',
    `for (; i < count; i++, p += ${from.fixedLength}, q += ${to.fixedLength}) {`,
    `let ${init.join(', ')};`,
    // A record left to the caller is decoded again there, and its unplaced times counted there: they are counted here
    // once the record is written, in a store every record makes (one only some made would have no type feedback,
    // and V8 throws code away when it first reaches such a store).
    'let unresolved = 0;',
    ...dec.map((l) => l.replace(/\btb\.unresolved\+\+/g, 'unresolved++')),
    // Session.deliver's checks, on the same values (recordMs of each time): a record failing one goes the FlowRecord way.
    'if (r_endMs < r_startMs || Math.max(r_startMs, r_endMs) > limit) break;',
    'tb.unresolved += unresolved;',
    ...encText,
    'packets += r_packets; octets += r_octets;',
    '}',
    'x.packets = packets; x.octets = octets;',
    'return i;',
  ].join('\n');
  return make<FlowTranscoder>('dv, p, count, ob, odv, q, tb, x, r', body, names, values, `transcode${from.version}_${from.fixedLength}_${to.fixedLength}`);
}

/**
 * The field stores of a transcoder (one text per field of lengths `lens`, in record order) with each run of fields
 * that always write zeros as a few wide stores of 0: what the exporter's template does not carry is most of a file
 * record (MACs, AS numbers, masks, next hop, VLANs), and a store per field was a large part of what V8 compiled.
 * A field counts as zeros when its text names no variable and writes only zero bytes where it lies, and nothing
 * elsewhere, run once on a scratch record.
 */
function zeroRuns(fields: string[], lens: readonly number[]): string[] {
  const out: string[] = [];
  // The texts store at q + the field's offset: the scratch record is at 1, with a byte either side. The candidates
  // are run from one function (one parse for the transcoder, not one per field).
  const scratch = new Uint8Array(2 + lens.reduce((a, b) => a + b, 0));
  const sv = new DataView(scratch.buffer);
  const candidate = fields.map((text) => !/\b(r_\w+|e\d|x|tb|r|p|dv)\b/.test(text.replace(/\b(odv|ob|q)\b/g, '')));
  const cases = fields.flatMap((text, i) => (candidate[i] ? [`case ${i}: ${text} break;`] : [])).join('\n');
  const exec = make<(odv: DataView, ob: Uint8Array, q: number, i: number) => void>('odv, ob, q, i', `switch (i) {\n${cases}\n}`, [], []);
  const zero = (i: number, at: number, len: number): boolean => {
    if (!candidate[i]) return false;
    scratch.fill(0xa5);
    exec(sv, scratch, 1, i);
    return scratch.every((v, k) => (k > at && k <= at + len ? v === 0 : v === 0xa5));
  };
  let off = 0;
  let run = -1;
  const close = (end: number): void => {
    for (let at = run; at < end; ) {
      const n = end - at >= 8 ? 8 : end - at >= 4 ? 4 : end - at >= 2 ? 2 : 1;
      out.push(n === 8 ? `odv.setFloat64(q + ${at}, 0);` : n === 4 ? `odv.setUint32(q + ${at}, 0);` : n === 2 ? `odv.setUint16(q + ${at}, 0);` : `ob[q + ${at}] = 0;`);
      at += n;
    }
    run = -1;
  };
  fields.forEach((text, i) => {
    if (zero(i, off, lens[i])) {
      if (run < 0) run = off;
    } else {
      if (run >= 0) close(off);
      out.push(text);
    }
    off += lens[i];
  });
  if (run >= 0) close(off);
  return out;
}

/** Transcoders made so far, by both layouts: sessions of one kind of exporter share them. */
const transcoders = new Map<string, FlowTranscoder | null>();

/** {@link compileTranscoder}, once per pair of layouts for the whole process. */
export function transcoderFor(from: Template, to: Template): FlowTranscoder | null {
  let key = `${from.version}`;
  for (const f of from.fields) key += ` ${f.pen}/${f.id}/${f.length}`;
  key += ` >${to.version}`;
  for (const f of to.fields) key += ` ${f.pen}/${f.id}/${f.length}`;
  let t = transcoders.get(key);
  if (t === undefined) {
    t = compileTranscoder(from, to);
    if (transcoders.size >= MAX_CACHED_DECODERS) transcoders.delete(transcoders.keys().next().value as string);
    transcoders.set(key, t);
  }
  return t;
}
