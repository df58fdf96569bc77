/**
 * What NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) share: templates, sets, and encoding/decoding records
 * field by field through the codec tables of ie.ts. v9.ts and ipfix.ts add only their headers and numbers.
 * Template caching is not here: decoders parse with the template the caller passes (that policy belongs to the
 * collector's session logic).
 */
import { compileFlowWriter, type FlowRecordWriter } from './compiled.js';
import { WireError } from './errors.js';
import {
  FLOW_CODECS,
  OPTION_CODECS,
  V9_SCOPE_CODECS,
  IE,
  PEN_REVERSE,
  V9Scope,
  VARLEN,
  OptionsRecord,
  ieKey,
  type FieldCodec,
} from './ie.js';
import { FlowRecord, type FlowSink } from './record.js';
import { TimeBase, coveringExportMs } from './time.js';

/** The numbers that differ between the two template-based protocols. */
export interface Flavor {
  readonly version: 9 | 10;
  readonly headerLength: number;
  /** RFC 3954 §5.2/§6.1: 0 and 1; RFC 7011 §3.3.2: 2 and 3. */
  readonly templateSetId: number;
  readonly optionsSetId: number;
}

export const V9: Flavor = { version: 9, headerLength: 20, templateSetId: 0, optionsSetId: 1 };
export const IPFIX: Flavor = { version: 10, headerLength: 16, templateSetId: 2, optionsSetId: 3 };

/** Data set IDs start here in both protocols (RFC 3954 §5.3, RFC 7011 §3.3.2); lower IDs are set types. */
export const MIN_DATA_SET_ID = 256;
/** Cap on fields per template: no real template comes near it, and it bounds what a hostile one makes us build. */
export const MAX_TEMPLATE_FIELDS = 1024;
/** RFC 7011 §3.4.1: the enterprise bit of a field specifier. */
const ENTERPRISE_BIT = 0x8000;

export interface TemplateField {
  /** IE number (v9 field type), without the enterprise bit; in v9 options scopes, the scope type. */
  readonly id: number;
  /** Private Enterprise Number, 0 for the IANA registry. */
  readonly pen: number;
  /** Bytes, or VARLEN (65535) for a variable-length field. */
  readonly length: number;
}

/** A compiled template: for each field, the codec (undefined = skip by length) and its length. */
export interface RecordPlan<T> {
  readonly codecs: readonly (FieldCodec<T> | undefined)[];
  readonly lens: readonly number[];
}

export class Template {
  /** Smallest record: fixed lengths plus one prefix byte per variable-length field (RFC 7011 §7). */
  readonly minRecordLength: number;
  /** Bytes per record when no field is variable length, otherwise -1. */
  readonly fixedLength: number;
  private flowPlanCache?: RecordPlan<FlowRecord>;
  private optionsPlanCache?: RecordPlan<OptionsRecord>;

  /**
   * @param scopeCount number of leading scope fields; > 0 only for options templates (v9 allows 0 scopes, so
   *   {@link options} says which kind it is).
   */
  constructor(
    readonly version: 9 | 10,
    readonly id: number,
    readonly fields: readonly TemplateField[],
    readonly options = false,
    readonly scopeCount = 0,
  ) {
    let min = 0;
    let varlen = false;
    for (const f of fields) {
      if (f.length === VARLEN) {
        varlen = true;
        min += 1;
      } else min += f.length;
    }
    this.minRecordLength = min;
    this.fixedLength = varlen ? -1 : min;
  }

  /** Same layout (what a collector compares to tell a refresh from a redefinition). */
  sameLayout(o: Template): boolean {
    if (o.id !== this.id || o.options !== this.options || o.scopeCount !== this.scopeCount) return false;
    if (o.fields.length !== this.fields.length) return false;
    for (let i = 0; i < this.fields.length; i++) {
      const a = this.fields[i];
      const b = o.fields[i];
      if (a.id !== b.id || a.pen !== b.pen || a.length !== b.length) return false;
    }
    return true;
  }

  /** Bytes of this template's record in a template set. */
  wireLength(): number {
    let n = this.options ? 6 : 4;
    for (const f of this.fields) n += f.pen !== 0 ? 8 : 4;
    return n;
  }

  flowPlan(): RecordPlan<FlowRecord> {
    return (this.flowPlanCache ??= this.compile(FLOW_CODECS, undefined));
  }

  optionsPlan(): RecordPlan<OptionsRecord> {
    return (this.optionsPlanCache ??= this.compile(
      OPTION_CODECS,
      this.version === 9 ? V9_SCOPE_CODECS : undefined,
    ));
  }

  private compile<T>(
    table: ReadonlyMap<number, FieldCodec<T>>,
    scopeTable: ReadonlyMap<number, FieldCodec<T>> | undefined,
  ): RecordPlan<T> {
    const codecs: (FieldCodec<T> | undefined)[] = [];
    const lens: number[] = [];
    this.fields.forEach((f, i) => {
      const t = scopeTable !== undefined && i < this.scopeCount ? scopeTable : table;
      const c = t.get(ieKey(f.pen, f.id));
      // A field whose length the codec cannot take (say an 8-byte IPv4 address) is skipped, not misread;
      // variable-length fields are checked per record instead.
      const fits = c !== undefined && (f.length === VARLEN || (f.length >= c.minLen && f.length <= c.maxLen));
      codecs.push(fits ? c : undefined);
      lens.push(f.length);
    });
    return { codecs, lens };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** Result of decoding a data set: records delivered, and the error that stopped it (OK if none). */
export class SetResult {
  records = 0;
  error = 0;
}

function decodeRecords<T>(
  dv: DataView,
  start: number,
  end: number,
  t: Template,
  plan: RecordPlan<T>,
  tb: TimeBase,
  r: T,
  clear: (r: T) => void,
  emit: (r: T) => void,
  out: SetResult,
): number {
  out.records = 0;
  out.error = WireError.OK;
  const { codecs, lens } = plan;
  const n = lens.length;
  const min = t.minRecordLength;
  if (min === 0) return (out.error = WireError.BAD_FIELD_LENGTH);
  let off = start;
  // Fewer bytes left than the smallest record: that is padding (RFC 7011 §3.3.1, RFC 3954 §5.3).
  while (end - off >= min) {
    clear(r);
    for (let i = 0; i < n; i++) {
      let len = lens[i];
      if (len === VARLEN) {
        if (off >= end) return (out.error = WireError.RECORD_TRUNCATED);
        len = dv.getUint8(off++);
        if (len === 255) {
          if (off + 2 > end) return (out.error = WireError.RECORD_TRUNCATED);
          len = dv.getUint16(off);
          off += 2;
        }
      }
      if (off + len > end) return (out.error = WireError.RECORD_TRUNCATED);
      const c = codecs[i];
      if (c !== undefined && len >= c.minLen && len <= c.maxLen) c.dec(dv, off, len, r, tb);
      off += len;
    }
    emit(r);
    out.records++;
  }
  return out.error;
}

const clearFlow = (r: FlowRecord): void => r.clear();
const clearOptions = (r: OptionsRecord): void => r.clear();

/**
 * Decodes the data set body [start, end) with template `t`, calling `sink.onFlow` with `rec` (reused) for each
 * record. Returns an error code; `out.records` counts the records delivered before any error.
 */
export function decodeFlowSet(
  dv: DataView,
  start: number,
  end: number,
  t: Template,
  tb: TimeBase,
  rec: FlowRecord,
  sink: FlowSink,
  out: SetResult,
): number {
  return decodeRecords(dv, start, end, t, t.flowPlan(), tb, rec, clearFlow, (r) => sink.onFlow(r), out);
}

/** Decodes an options data set with options template `t`; `onOptions` gets `rec` (reused) per record. */
export function decodeOptionsSet(
  dv: DataView,
  start: number,
  end: number,
  t: Template,
  tb: TimeBase,
  rec: OptionsRecord,
  onOptions: (o: OptionsRecord) => void,
  out: SetResult,
): number {
  return decodeRecords(dv, start, end, t, t.optionsPlan(), tb, rec, clearOptions, onOptions, out);
}

/** What a message walk reports. Template policy (cache, buffer, replace) is the visitor's business. */
export interface SetVisitor {
  onTemplate(t: Template): void;
  /** IPFIX withdrawal (RFC 7011 §8.1): a template ID, or 2 / 3 for all (options) templates. */
  onWithdraw(templateId: number, options: boolean): void;
  /** A data set; body is [start, end) of the DataView. */
  onDataSet(setId: number, dv: DataView, start: number, end: number): void;
  /** Something malformed at byte `offset`; the walk goes on where it can. */
  onError(code: number, offset: number): void;
  /**
   * Optional: takes a template set body [start, end) in place of {@link parseTemplateSet} (which it calls for what
   * it has not seen before: a receiver need not parse again the same set an exporter resends every few datagrams).
   * Returns what parseTemplateSet would.
   */
  templateSet?(f: Flavor, dv: DataView, start: number, end: number, options: boolean): number;
}

/**
 * Parses one template set body [start, end). Stops at the first malformed record (the rest of the set cannot be
 * framed) and returns its error; templates before it have been delivered.
 */
export function parseTemplateSet(
  f: Flavor,
  dv: DataView,
  start: number,
  end: number,
  options: boolean,
  v: Pick<SetVisitor, 'onTemplate' | 'onWithdraw'>,
): number {
  let off = start;
  const ipfix = f.version === 10;
  const head = options ? 6 : 4;
  while (end - off >= 4) {
    // RFC 3954 §6.1 pads a v9 options template record to 4 bytes; some exporters pad each record, some only
    // the set. Records are 6+4n bytes, so a padded one leaves exactly two zero bytes before the next.
    if (!ipfix && options && (off - start) % 4 !== 0 && dv.getUint16(off) === 0) {
      off += 2;
      continue;
    }
    const id = dv.getUint16(off);
    const count = dv.getUint16(off + 2);
    // Template ID 0 cannot exist: the rest is padding.
    if (id === 0) break;
    if (ipfix && count === 0) {
      // RFC 7011 §8.1: withdrawal (4 bytes, even in an options set); ID 2 (3) withdraws all (options) templates.
      const all = options ? 3 : 2;
      if (id < MIN_DATA_SET_ID && id !== all) return WireError.BAD_WITHDRAWAL;
      v.onWithdraw(id, options);
      off += 4;
      continue;
    }
    if (end - off < head) return WireError.TEMPLATE_TRUNCATED;
    if (id < MIN_DATA_SET_ID) return WireError.BAD_TEMPLATE_ID;
    let fieldCount: number;
    let scopeCount = 0;
    off += head;
    if (!options) {
      fieldCount = count;
    } else if (ipfix) {
      fieldCount = count;
      scopeCount = dv.getUint16(off - 2);
      // RFC 7011 §3.4.2.2: the scope field count MUST NOT be zero.
      if (scopeCount === 0 || scopeCount > fieldCount) return WireError.BAD_SCOPE;
    } else {
      // RFC 3954 §6.1: v9 gives scope and option lengths in bytes, 4 per field specifier.
      const scopeBytes = count;
      const optionBytes = dv.getUint16(off - 2);
      if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0) return WireError.BAD_SCOPE;
      scopeCount = scopeBytes / 4;
      fieldCount = scopeCount + optionBytes / 4;
    }
    if (fieldCount === 0 || fieldCount > MAX_TEMPLATE_FIELDS) return WireError.BAD_FIELD_COUNT;
    const fields: TemplateField[] = [];
    for (let i = 0; i < fieldCount; i++) {
      if (end - off < 4) return WireError.TEMPLATE_TRUNCATED;
      let fid = dv.getUint16(off);
      const length = dv.getUint16(off + 2);
      off += 4;
      let pen = 0;
      // v9 has no enterprise bit: its field types are plain 16-bit numbers (RFC 3954 §8).
      if (ipfix && (fid & ENTERPRISE_BIT) !== 0) {
        if (end - off < 4) return WireError.TEMPLATE_TRUNCATED;
        fid &= ~ENTERPRISE_BIT;
        pen = dv.getUint32(off);
        off += 4;
      }
      fields.push({ id: fid, pen, length });
    }
    const t = new Template(f.version, id, fields, options, scopeCount);
    // A template whose records could be empty would let a data set "contain" endless records.
    if (t.minRecordLength === 0) return WireError.BAD_FIELD_LENGTH;
    v.onTemplate(t);
  }
  return WireError.OK;
}

/**
 * Walks the sets of one message body [start, end). A set whose length cannot be right ends the walk (nothing
 * after it can be framed); a bad template set or reserved set ID is reported and skipped by its length.
 */
export function walkSets(f: Flavor, dv: DataView, start: number, end: number, v: SetVisitor): void {
  let off = start;
  while (off < end) {
    if (end - off < 4) {
      // RFC 3954 §5.3 lets v9 exporters pad the packet; IPFIX messages end on a set boundary.
      if (f.version === 10) v.onError(WireError.BAD_SET_LENGTH, off);
      return;
    }
    const id = dv.getUint16(off);
    const len = dv.getUint16(off + 2);
    if (len < 4 || len > end - off) {
      v.onError(WireError.BAD_SET_LENGTH, off);
      return;
    }
    const bodyStart = off + 4;
    const bodyEnd = off + len;
    if (id === f.templateSetId || id === f.optionsSetId) {
      const options = id === f.optionsSetId;
      const e =
        v.templateSet !== undefined
          ? v.templateSet(f, dv, bodyStart, bodyEnd, options)
          : parseTemplateSet(f, dv, bodyStart, bodyEnd, options, v);
      if (e !== WireError.OK) v.onError(e, off);
    } else if (id >= MIN_DATA_SET_ID) {
      v.onDataSet(id, dv, bodyStart, bodyEnd);
    } else {
      v.onError(WireError.RESERVED_SET_ID, off);
    }
    off = bodyEnd;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/** `-A` of softflowd: which time IEs the flow templates carry. */
export type TimeMode = 'uptime' | 'sec' | 'milli' | 'micro' | 'nano';
const TIME_MODES: readonly TimeMode[] = ['uptime', 'sec', 'milli', 'micro', 'nano'];
const TIME_FIELDS: Record<TimeMode, [start: number, end: number, length: number]> = {
  uptime: [IE.flowStartSysUpTime, IE.flowEndSysUpTime, 4],
  sec: [IE.flowStartSeconds, IE.flowEndSeconds, 4],
  milli: [IE.flowStartMilliseconds, IE.flowEndMilliseconds, 8],
  micro: [IE.flowStartMicroseconds, IE.flowEndMicroseconds, 8],
  nano: [IE.flowStartNanoseconds, IE.flowEndNanoseconds, 8],
};

export interface EncoderOptions {
  /** Largest datagram to build, bytes (default 1400: fits a 1500-byte MTU with IPv6 and tunnel headroom). */
  maxDatagram?: number;
  /** v9 source ID / IPFIX observation domain ID (default 0). */
  domainId?: number;
  /** Time IEs (default: v9 'uptime' = 22/21, IPFIX 'milli' = 152/153). */
  time?: TimeMode;
  /** Add vlanId 58 and postVlanId 59 (softflowd -T vlan). */
  vlan?: boolean;
  /** Add sourceMacAddress 56 and postDestinationMacAddress 57 (softflowd -T ether; implies vlan). */
  mac?: boolean;
  /** MPLS label stack entries to carry, 0..10 (IEs 70..79, softflowd -x). */
  mplsLabels?: number;
  /** IPFIX only: RFC 5103 reverse octets/packets/ToS/flags with PEN 29305 (softflowd -b). */
  biflow?: boolean;
  /** Announced sampling, 1 in N (default 1 = every packet). */
  samplingInterval?: number;
  /** IPFIX options scope value (meteringProcessId, IE 143); softflowd uses its PID. */
  meteringProcessId?: number;
}

/** Softflowd's template IDs (IPv4, ICMPv4, IPv6, ICMPv6); ours add 2·layout variant to them. */
const BASE_IDS = [1024, 1025, 2048, 2049] as const;
/** Options template IDs: 256 as softflowd; IPFIX with systemInitTimeMilliseconds gets its own. */
const OPTIONS_ID = 256;
const OPTIONS_ID_WITH_INIT = 257;

const u = (id: number, length: number, pen = 0): TemplateField => ({ id, pen, length });

/**
 * The four flow templates for a set of options, in softflowd's field order so that the default v9 layout is
 * field for field softflowd's (IDs 1024/1025/2048/2049). Every other layout gets IDs of its own
 * (base + 2·variant): softflowd keeps 1024 whatever -T/-A/-b/-x say, so a collector that kept its templates
 * across a restart misreads records until the next refresh; distinct IDs make that impossible.
 */
export function flowTemplates(f: Flavor, o: Required<EncoderOptions>): Template[] {
  const [tStart, tEnd, tLen] = TIME_FIELDS[o.time];
  const tagging = o.mac ? 2 : o.vlan ? 1 : 0;
  const variant =
    TIME_MODES.indexOf(o.time) + 5 * tagging + 15 * (o.biflow ? 1 : 0) + 30 * o.mplsLabels;
  return BASE_IDS.map((base, k) => {
    const v6 = k >= 2;
    const icmp = k % 2 === 1;
    const fields: TemplateField[] = [
      v6 ? u(IE.sourceIPv6Address, 16) : u(IE.sourceIPv4Address, 4),
      v6 ? u(IE.destinationIPv6Address, 16) : u(IE.destinationIPv4Address, 4),
      u(tStart, tLen),
      u(tEnd, tLen),
      // 4-byte counters as softflowd: its expiry rule (which our flow table follows) exports a direction
      // before it passes 2 GiB, and the codec saturates rather than wraps should one ever be larger.
      u(IE.octetDeltaCount, 4),
      u(IE.packetDeltaCount, 4),
      u(IE.ingressInterface, 4),
      u(IE.egressInterface, 4),
      u(IE.flowDirection, 1),
      u(IE.flowEndReason, 1),
    ];
    // v9 has one ICMP_TYPE field (32) for both families (RFC 3954 §8 predates IE 139, and nfcapd 1.7.1's v9
    // decoder ignores 139); IPFIX has icmpTypeCodeIPv6 (139) for ICMPv6.
    const icmpIe = v6 && f.version === 10 ? IE.icmpTypeCodeIPv6 : IE.icmpTypeCodeIPv4;
    if (icmp) fields.push(u(icmpIe, 2), u(IE.protocolIdentifier, 1));
    else {
      fields.push(
        u(IE.sourceTransportPort, 2),
        u(IE.destinationTransportPort, 2),
        u(IE.protocolIdentifier, 1),
        u(IE.tcpControlBits, 1),
      );
    }
    fields.push(u(IE.ipVersion, 1), u(IE.ipClassOfService, 1));
    if (o.vlan || o.mac) fields.push(u(IE.vlanId, 2), u(IE.postVlanId, 2));
    if (o.mac) fields.push(u(IE.sourceMacAddress, 6), u(IE.postDestinationMacAddress, 6));
    if (o.biflow) {
      fields.push(
        u(IE.octetDeltaCount, 4, PEN_REVERSE),
        u(IE.packetDeltaCount, 4, PEN_REVERSE),
        u(IE.ipClassOfService, 1, PEN_REVERSE),
      );
      if (!icmp) fields.push(u(IE.tcpControlBits, 1, PEN_REVERSE));
    }
    for (let i = 0; i < o.mplsLabels; i++) fields.push(u(IE.mplsTopLabelStackSection + i, 3));
    return new Template(f.version, base + 2 * variant, fields);
  });
}

/**
 * The options template announcing sampling, and for IPFIX with sysUpTime-relative times the base they count from
 * (systemInitTimeMilliseconds, IE 160: without it an IPFIX collector cannot place IEs 21/22 in time).
 */
export function optionsTemplate(f: Flavor, o: Required<EncoderOptions>): Template {
  if (f.version === 9) {
    // RFC 3954 §6.1 scope "System"; the sampling fields as softflowd and Cisco send them (RFC 3954 §8: 34, 35).
    return new Template(9, OPTIONS_ID, [u(V9Scope.system, 4), u(IE.samplingInterval, 4), u(IE.samplingAlgorithm, 1)], true, 1);
  }
  const fields = [
    u(IE.meteringProcessId, 4),
    // RFC 5476 §6.5.2 systematic count-based sampling: select 1 packet, then skip N-1.
    u(IE.samplingPacketInterval, 4),
    u(IE.samplingPacketSpace, 4),
    u(IE.selectorAlgorithm, 2),
  ];
  const withInit = o.time === 'uptime';
  if (withInit) fields.push(u(IE.systemInitTimeMilliseconds, 8));
  return new Template(10, withInit ? OPTIONS_ID_WITH_INIT : OPTIONS_ID, fields, true, 1);
}

/** The four template slots of {@link flowTemplates}. */
export function templateIndex(rec: FlowRecord): number {
  // IPv4 with ICMP (1) and IPv6 with ICMPv6 (58) use the templates whose dstPort is icmpTypeCode.
  if (rec.ipVersion === 6) return rec.protocol === 58 ? 3 : 2;
  return rec.protocol === 1 ? 1 : 0;
}

/**
 * Builds v9 or IPFIX messages into one reused buffer: beginMessage, then addTemplates and addRecord as room
 * allows, then finish. Nothing is allocated per record.
 *
 * Flow records are kept apart by template until finish, which writes one data set per template: records of the
 * four templates (IPv4, IPv6, each with ICMP) come interleaved, and writing them as they came made some 8 sets of
 * 3.7 records in a datagram of a mixed capture. Every set costs its 4-byte header and padding, and a collector a
 * template lookup and a decode setup (flowcapd's per-set path was a third of its decoding time).
 */
export abstract class MessageEncoder {
  readonly options: Required<EncoderOptions>;
  readonly templates: readonly Template[];
  readonly optionsTemplate: Template;
  /** Encodes times; its uptime base is the boot time given to beginMessage. */
  readonly timeBase = new TimeBase();
  protected readonly buf: Uint8Array;
  protected readonly dv: DataView;
  protected pos = 0;
  /** Records of every kind in this message (template, options template, data, options data). */
  protected allRecords = 0;
  /** Data records in this message, options data included. */
  protected dataRecords = 0;
  protected exportMs = 0;
  private setStart = -1;
  private finished = false;
  /** Each flow template's records of this message, in arrival order, until finish() sets them in place. */
  private readonly staged: Uint8Array[];
  private readonly stagedViews: DataView[];
  private readonly stagedLength: Int32Array;
  /** The bytes the staged records' sets will take: a header and padding per template that has records. */
  private stagedBytes = 0;
  /**
   * For each flow template, a function writing one record (compiled.ts): a loop calling every field's codec from
   * one call site, which V8 can neither inline nor predict, cost about 0.25 us a record.
   */
  private readonly flowWriters: FlowRecordWriter[];
  private readonly optionsRecord = new OptionsRecord();
  /**
   * The template set and the options template set as addTemplates first wrote them, copied in after that (they
   * never change for an encoder), and how many records they hold. Written field by field every 16 datagrams, they
   * were code V8 compiled (some 40 ms of its compiler threads in a live probe's first million packets) to run
   * rarely.
   */
  private templateBytes: Uint8Array | null = null;
  private templateRecords = 0;
  /** What templateBlockLength() returns, once known. */
  private blockLength = -1;
  /**
   * Whether the template block carries the options template and its record. IPFIX leaves them out when they
   * would say nothing (no sampling, absolute times): nfcapd 1.7.1 does not count options data records in its
   * IPFIX sequence check (RFC 7011 §3.1 says to), so each one would show as a sequence failure there.
   */
  readonly withOptions: boolean;

  constructor(
    readonly flavor: Flavor,
    opts: EncoderOptions,
  ) {
    const o: Required<EncoderOptions> = {
      maxDatagram: opts.maxDatagram ?? 1400,
      domainId: opts.domainId ?? 0,
      time: opts.time ?? (flavor.version === 9 ? 'uptime' : 'milli'),
      vlan: opts.vlan ?? false,
      mac: opts.mac ?? false,
      mplsLabels: opts.mplsLabels ?? 0,
      biflow: opts.biflow ?? false,
      samplingInterval: opts.samplingInterval ?? 1,
      meteringProcessId: opts.meteringProcessId ?? 0,
    };
    if (!TIME_MODES.includes(o.time)) throw new RangeError(`unknown time mode '${o.time}' (sec|milli|micro|nano|uptime)`);
    if (!(o.mplsLabels >= 0 && o.mplsLabels <= 10)) throw new RangeError(`MPLS labels must be 0..10, not ${o.mplsLabels}`);
    if (o.biflow && flavor.version !== 10) throw new RangeError('biflow records need IPFIX (RFC 5103)');
    if (!(o.samplingInterval >= 1)) throw new RangeError(`sampling interval must be >= 1, not ${o.samplingInterval}`);
    this.options = o;
    this.templates = flowTemplates(flavor, o);
    this.optionsTemplate = optionsTemplate(flavor, o);
    this.withOptions = flavor.version === 9 || o.samplingInterval > 1 || o.time === 'uptime';
    this.flowWriters = this.templates.map((t) => compileFlowWriter(t));
    const need = flavor.headerLength + this.templateBlockLength() + 4 + 3 + Math.max(...this.templates.map((t) => t.fixedLength));
    if (!(o.maxDatagram >= need && o.maxDatagram <= 65507)) {
      throw new RangeError(`max datagram must be ${need}..65507 bytes (templates plus one record), not ${o.maxDatagram}`);
    }
    this.buf = new Uint8Array(o.maxDatagram);
    this.dv = new DataView(this.buf.buffer);
    this.staged = this.templates.map(() => new Uint8Array(o.maxDatagram));
    this.stagedViews = this.staged.map((b) => new DataView(b.buffer));
    this.stagedLength = new Int32Array(this.templates.length);
    const r = this.optionsRecord;
    r.scopeSystem = o.domainId;
    r.meteringProcessId = o.meteringProcessId;
    r.samplingInterval = o.samplingInterval;
    r.samplingAlgorithm = 1; // RFC 3954 §8: 1 = deterministic (every Nth packet)
    r.samplingPacketInterval = 1;
    r.samplingPacketSpace = o.samplingInterval - 1;
    r.selectorAlgorithm = 1; // IANA Packet Selection Methods: systematic count-based
  }

  /** Bytes that {@link addTemplates} writes. */
  templateBlockLength(): number {
    if (this.blockLength >= 0) return this.blockLength;
    let n = 4;
    for (const t of this.templates) n += t.wireLength();
    if (this.withOptions) n += 4 + pad4(this.optionsTemplate.wireLength()) + 4 + pad4(this.optionsTemplate.fixedLength);
    this.blockLength = n;
    return n;
  }

  /**
   * Starts a message. `bootTimeMs` is the exporter's sysUpTime zero, used by the v9 header and by
   * sysUpTime-relative time IEs (flowprobe -r gives the capture's first packet time, so they never wrap).
   */
  beginMessage(exportTimeMs: number, bootTimeMs: number): void {
    this.exportMs = Math.floor(exportTimeMs);
    this.timeBase.uptimeZeroMs = this.uptimeZero(Math.floor(bootTimeMs));
    this.timeBase.exportSec = Math.floor(this.exportMs / 1000);
    if (this.options.time === 'uptime') this.optionsRecord.systemInitTimeMs = this.timeBase.uptimeZeroMs;
    this.pos = this.flavor.headerLength;
    this.allRecords = this.dataRecords = 0;
    this.setStart = -1;
    this.finished = false;
    this.stagedLength.fill(0);
    this.stagedBytes = 0;
  }

  /**
   * Moves the message's export time up to `ms` (a record's end) when it is earlier and the header can carry it
   * (see coveringExportMs; flowcapd placed such records 49.7 days early, nfcapd not). A replay's clock moves once a
   * second, so records ending later in that second did end after it.
   */
  coverUntil(ms: number): void {
    this.exportMs = coveringExportMs(this.exportMs, this.timeBase.uptimeZeroMs, this.headerTimeFor(ms));
  }

  /** The export time whose header time is no earlier than ms (v9 has whole seconds: see v9.ts). */
  protected headerTimeFor(ms: number): number {
    return Math.ceil(ms);
  }

  /** The uptime base to use: v9 rounds it to whole seconds (see v9.ts). */
  protected uptimeZero(bootMs: number): number {
    return bootMs;
  }

  /**
   * Adds the template set, the options template and one options data record. Returns false (and writes nothing)
   * when they do not fit in what is left of the datagram.
   */
  addTemplates(): boolean {
    this.closeSet();
    if (this.pos + this.stagedBytes + this.templateBlockLength() > this.buf.length) return false;
    const dv = this.dv;
    if (this.templateBytes === null) {
      // Sets start 4-aligned and their lengths are their own, so the bytes fit any later place alike.
      const start = this.pos;
      const before = this.allRecords;
      this.openSet(this.flavor.templateSetId);
      for (const t of this.templates) this.writeTemplateRecord(t);
      this.closeSet();
      if (this.withOptions) {
        this.openSet(this.flavor.optionsSetId);
        this.writeTemplateRecord(this.optionsTemplate);
        this.closeSet();
      }
      this.templateBytes = this.buf.slice(start, this.pos);
      this.templateRecords = this.allRecords - before;
    } else {
      this.buf.set(this.templateBytes, this.pos);
      this.pos += this.templateBytes.length;
      this.allRecords += this.templateRecords;
    }
    if (!this.withOptions) return true;
    this.openSet(this.optionsTemplate.id);
    const plan = this.optionsTemplate.optionsPlan();
    for (let i = 0; i < plan.lens.length; i++) {
      plan.codecs[i]!.enc(dv, this.pos, plan.lens[i], this.optionsRecord, this.timeBase);
      this.pos += plan.lens[i];
    }
    this.allRecords++;
    this.dataRecords++;
    this.closeSet();
    return true;
  }

  /**
   * Appends one record. Returns false when it does not fit: finish() this message and add it to the next one.
   */
  addRecord(rec: FlowRecord): boolean {
    const k = templateIndex(rec);
    const t = this.templates[k];
    const len = this.stagedLength[k]!;
    // Every set starts 4-aligned (both headers are multiples of 4 and sets are padded): what the template's set
    // takes in the message with the record, against what it took before.
    const before = len === 0 ? 0 : 4 + pad4(len);
    const after = 4 + pad4(len + t.fixedLength);
    if (pad4(this.pos) + this.stagedBytes - before + after > this.buf.length) return false;
    this.flowWriters[k]!(this.stagedViews[k]!, this.staged[k]!, len, rec, this.timeBase);
    this.stagedLength[k] = len + t.fixedLength;
    this.stagedBytes += after - before;
    this.allRecords++;
    this.dataRecords++;
    return true;
  }

  /** Data records (options data included) in the message being built. */
  get recordCount(): number {
    return this.dataRecords;
  }

  /** Completes the header and returns the message: a view of the reused buffer, valid until beginMessage. */
  finish(): Uint8Array {
    // Once per message: a second call must not advance the sequence number again.
    if (!this.finished) {
      this.closeSet();
      for (let k = 0; k < this.staged.length; k++) {
        const len = this.stagedLength[k]!;
        if (len === 0) continue;
        this.openSet(this.templates[k]!.id);
        this.buf.set(this.staged[k]!.subarray(0, len), this.pos);
        this.pos += len;
        this.closeSet();
        this.stagedLength[k] = 0;
      }
      this.stagedBytes = 0;
      this.writeHeader();
      this.finished = true;
    }
    return this.buf.subarray(0, this.pos);
  }

  protected abstract writeHeader(): void;

  private openSet(id: number): void {
    this.setStart = this.pos;
    this.dv.setUint16(this.pos, id);
    this.pos += 4;
  }

  /** Pads the open set to 4 bytes (RFC 7011 §3.3.1, RFC 3954 §5.3) and writes its length. */
  private closeSet(): void {
    if (this.setStart < 0) return;
    // A byte at a time: padding is 0-3 bytes, and fill() is a call into the runtime.
    while (((this.pos - this.setStart) & 3) !== 0) this.buf[this.pos++] = 0;
    this.dv.setUint16(this.setStart + 2, this.pos - this.setStart);
    this.setStart = -1;
  }

  private writeTemplateRecord(t: Template): void {
    this.pos = writeTemplateRecord(this.flavor, this.dv, this.pos, t);
    this.allRecords++;
  }

}

/**
 * Writes `t` as a template record (RFC 7011 §3.4.1/§3.4.2, RFC 3954 §5.2/§6.1) at `pos`; returns the offset after
 * it. The caller has checked that {@link Template.wireLength} bytes fit.
 */
export function writeTemplateRecord(f: Flavor, dv: DataView, pos: number, t: Template): number {
  let p = pos;
  dv.setUint16(p, t.id);
  if (!t.options) {
    dv.setUint16(p + 2, t.fields.length);
    p += 4;
  } else if (f.version === 10) {
    dv.setUint16(p + 2, t.fields.length);
    dv.setUint16(p + 4, t.scopeCount);
    p += 6;
  } else {
    dv.setUint16(p + 2, 4 * t.scopeCount);
    dv.setUint16(p + 4, 4 * (t.fields.length - t.scopeCount));
    p += 6;
  }
  for (const fl of t.fields) {
    dv.setUint16(p, fl.pen !== 0 ? fl.id | ENTERPRISE_BIT : fl.id);
    dv.setUint16(p + 2, fl.length);
    p += 4;
    if (fl.pen !== 0) {
      dv.setUint32(p, fl.pen);
      p += 4;
    }
  }
  return p;
}

function pad4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
