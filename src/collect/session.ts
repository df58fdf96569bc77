/**
 * One exporter's transport session, as the receiver keeps it: its templates (defined, refreshed, redefined and
 * withdrawn in wire order), its options (sampling, the uptime base of IPFIX IEs 21/22), data that arrived before
 * its template (held, replayed when the template comes, counted when it expires), its sequence numbers, and the
 * counters that say what went wrong. Sockets and session tables are collector.ts's business; the decoding itself
 * is src/wire's.
 */
import {
  TranscodeState, compilable, decodeCompiledSet, flowDecoderFor, transcoderFor, type FlowSetDecoder, type FlowTranscoder,
} from '../wire/compiled.js';
import { WireError, wireErrorName } from '../wire/errors.js';
import { IE, OptionsRecord } from '../wire/ie.js';
import { IPFIX_HEADER_LENGTH, IpfixHeader, readIpfixHeader } from '../wire/ipfix.js';
import { FlowRecord, type FlowSink } from '../wire/record.js';
import {
  IPFIX,
  SetResult,
  Template,
  V9,
  decodeFlowSet,
  decodeOptionsSet,
  parseTemplateSet,
  walkSets,
  type Flavor,
  type SetVisitor,
} from '../wire/template.js';
import { TimeBase, mod32, recordMs } from '../wire/time.js';
import { V5Header, decodeV5 } from '../wire/v5.js';
import { V9_HEADER_LENGTH, V9Header, readV9Header } from '../wire/v9.js';

/** Why a record's times cannot be right. */
export const TimeFault = {
  /** Starts or ends more than the allowed slack after it was received. */
  FUTURE: 1,
  /** Ends before it starts. */
  END_BEFORE_START: 2,
} as const;

/** Where a session's records go: plausible ones to onFlow, the others to onSuspect with TimeFault bits. */
export interface SessionSink extends FlowSink {
  onSuspect(rec: FlowRecord, faults: number): void;
  /**
   * Where plausible records may instead be written straight from the datagram, when onFlow does nothing else
   * with them (flowcapd storing and not printing). Records that need a look of their own (suspect times, sampling,
   * a layout chosen by value) still come through onFlow and onSuspect.
   */
  readonly direct?: DirectSink | null;
}

/** A flow file writer as a transcoder writes into it (store/writer.ts's FlowFileWriter). */
export interface DirectSink {
  /** The record template for flows of this family from an exporter of that family. */
  templateFor(v6: boolean, exporter6: boolean): { index: number; template: Template };
  /** Records of template `index` that may be written at offsetFor(index) of out now; 0: use onFlow. */
  reserve(index: number): number;
  readonly out: Uint8Array;
  readonly outView: DataView;
  offsetFor(index: number): number;
  commit(index: number, n: number, packets: number, octets: number): void;
}

export interface SessionConfig {
  /**
   * nfcapd's -s: the sampling rate (1 in N) applied to exporters that announce none; negative = -N applied to
   * every exporter whatever it announces. Counters are multiplied by the rate, as nfcapd does.
   */
  sampling: number;
  /** A record starting or ending more than this after its receive time is suspect (Infinity: no check). */
  maxFutureMs: number;
  /** Set each record's exporter address from the session (a collector); a file reader keeps the stored one. */
  stampExporter: boolean;
  /** Templates per session; the oldest is evicted beyond it. */
  maxTemplates: number;
  /** Data sets held per session while their template is unknown, and how long. */
  maxPendingSets: number;
  maxPendingAgeMs: number;
}

/** Limits shared by all sessions: a flood of templates or template-less data from many sources stays bounded. */
export class SharedBudget {
  /** Template fields held by all sessions. */
  templateFields = 0;
  /** Bytes of held data sets in all sessions. */
  pendingBytes = 0;
  /** Every template of every session, oldest first (refreshing moves one to the end). */
  readonly lru = new Map<TemplateSlot, true>();
  templatesEvicted = 0;

  constructor(
    readonly maxTemplateFields: number,
    readonly maxPendingBytes: number,
  ) {}
}

interface TemplateSlot {
  session: Session;
  t: Template;
  /** Data sets decoded with it; a template in steady use gets a compiled decoder. */
  sets: number;
  decoder: FlowSetDecoder | null;
  /** With a direct sink: the compiled template's records written straight into the file (null: they cannot be). */
  transcoder: FlowTranscoder | null;
  fileTemplate: number;
  /** An options template's last data set, and what decoding it did (see Session.decodeOptions). */
  options: KnownOptions | null;
}

/**
 * An options data set as last received and its effects: exporters resend the same sampling options with every
 * template refresh, and decoding them again does exactly this. The options records' fields are plain values
 * (ie.ts's OptionsRecord), so the effects follow from the bytes alone.
 */
interface KnownOptions {
  bytes: Uint8Array;
  records: number;
  /** The last sampling rate and systemInitTimeMilliseconds announced in the set (0: none). */
  rate: number;
  initMs: number;
}

/** Whether dv holds b's bytes from `start` on. */
function sameBytes(b: Uint8Array, dv: DataView, start: number): boolean {
  const n = b.length;
  let i = 0;
  while (i < n && b[i] === dv.getUint8(start + i)) i++;
  return i === n;
}

/**
 * Data sets a template decodes through the generic loop before it is compiled: a template used once or twice (or a
 * peer redefining templates without end) costs no compiling, while one in steady use is compiled within a datagram
 * or two.
 */
const COMPILE_AFTER_SETS = 2;

/** A template set as last received, and the templates it defined (see Session.templateSet). */
interface KnownSet {
  bytes: Uint8Array;
  templates: Template[];
}

/** Template sets longer than this are parsed every time: what a session keeps of them stays small. */
const MAX_KNOWN_SET_BYTES = 2048;

/** A data set kept until its template arrives, with what is needed to decode it as if on time. */
interface Pending {
  setId: number;
  body: Uint8Array;
  receivedMs: number;
  /** v9: header sysUptime and UNIX seconds; IPFIX: export time. */
  sysUptime: number;
  unixSecs: number;
}

export class ExporterCounters {
  /** Datagrams received. */
  packets = 0;
  /** Flow records decoded (suspect ones included). */
  flows = 0;
  /** Datagrams with anything malformed (header, set, template or record); good sets in them are still used. */
  malformed = 0;
  /** Count per WireError name. */
  readonly errors = new Map<string, number>();
  /** Sequence numbers that were not the expected next one, by the version's rule. */
  sequenceErrors = 0;
  /** What the gaps add up to: flows (v5), packets (v9) or data records (IPFIX) missed, forward gaps only. */
  sequenceLost = 0;
  /** IPFIX exporter numbering its messages including their own records (softflowd), detected and tolerated. */
  inclusiveSequence = false;
  /** Template records received (first definitions and refreshes), redefinitions with another layout, withdrawals. */
  templates = 0;
  templatesRedefined = 0;
  templatesWithdrawn = 0;
  /** Templates dropped by the per-session or overall template bound. */
  templatesEvicted = 0;
  /** Data sets that came before their template: held, later decoded, expired unread, or dropped at the bound. */
  unknownTemplateSets = 0;
  replayedSets = 0;
  expiredSets = 0;
  droppedSets = 0;
  /** Options data records, and the sampling rate in force (0 = none announced). */
  optionsRecords = 0;
  announcedSampling = 0;
  /** Records with times in the future, ending before they start, or that could not be placed in time. */
  futureTimes = 0;
  endBeforeStart = 0;
  unresolvedTimes = 0;
  /**
   * Data sets holding no whole record of their template: what is there reads as padding (RFC 7011 §3.3.1), but
   * an exporter whose data does not match the template it announced looks exactly like this.
   */
  emptySets = 0;
}

const TWO31 = 2 ** 31;

export class Session implements SetVisitor {
  readonly counters = new ExporterCounters();
  /** Receive time of the last datagram (the collector evicts the least recently heard session first). */
  lastSeenMs = 0;
  private readonly templates = new Map<number, TemplateSlot>();
  private readonly pending: Pending[] = [];
  private pendingBytes = 0;
  private readonly rec = new FlowRecord();
  private readonly opt = new OptionsRecord();
  private readonly res = new SetResult();
  private readonly tb = new TimeBase();
  private readonly v5h = new V5Header();
  private readonly v9h = new V9Header();
  private readonly ih = new IpfixHeader();
  /** IPFIX systemInitTimeMilliseconds (IE 160) from the options, NaN until announced. */
  private systemInitMs = NaN;
  /** What the options set being decoded announced last (0: nothing), kept with it (decodeOptions). */
  private optRate = 0;
  private optInitMs = 0;
  /** Sampling multiplier for the datagram being decoded. */
  private rate = 1;
  private receivedMs = 0;
  private badDatagram = false;
  /** Per datagram: data records decoded (all, and flow only), sets held for lack of template. */
  private msgAll = 0;
  private msgFlows = 0;
  private msgHeld = 0;
  private seqSynced = false;
  private lastSeq = 0;
  private lastAll = 0;
  private lastFlows = 0;
  /** The previous message held sets, so its record count is unknown: the next check only resynchronises. */
  private lastUncounted = false;
  /** Set-walk context: the header fields a held set needs. */
  private curUptime = 0;
  private curSecs = 0;
  private readonly flowSink: FlowSink;
  private readonly direct: DirectSink | null;
  private readonly tx = new TranscodeState();
  private readonly optionsCb: (o: OptionsRecord) => void;
  /** The last template set and options template set, and the templates being collected from a parse. */
  private knownSets: [KnownSet | null, KnownSet | null] = [null, null];
  private parsed: Template[] | null = null;
  /** From the configuration, read per flow. */
  private readonly stamp: boolean;
  private readonly maxFutureMs: number;
  /** Kinds of event already logged, so each is said once per session. */
  private readonly said = new Set<string>();

  /**
   * @param name how log lines name the session ("192.0.2.1:2055 v9 domain 0")
   * @param exporter the exporter's address (words and version as in FlowRecord) stamped on each record
   */
  constructor(
    readonly name: string,
    readonly version: number,
    private readonly exporter: { words: Uint32Array; version: number },
    private readonly cfg: SessionConfig,
    private readonly budget: SharedBudget,
    private readonly out: SessionSink,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.stamp = cfg.stampExporter;
    this.maxFutureMs = cfg.maxFutureMs;
    this.flowSink = { onFlow: (r) => this.deliver(r) };
    // Direct writing stamps the exporter as deliver does; a reader keeping stored exporters goes through deliver.
    this.direct = cfg.stampExporter ? (out.direct ?? null) : null;
    const w = exporter.words;
    this.tx.e0 = w[0];
    this.tx.e1 = w[1];
    this.tx.e2 = w[2];
    this.tx.e3 = w[3];
    this.optionsCb = (o) => this.onOptions(o);
  }

  /** One datagram (one message): decode it, hold what cannot be decoded yet, check its sequence number. */
  process(buf: Uint8Array, receivedMs: number): void {
    this.processAt(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), buf.byteLength, receivedMs);
  }

  /** {@link process} for the first `length` bytes of `buf`, which `dv` views from the same byte. */
  processAt(buf: Uint8Array, dv: DataView, length: number, receivedMs: number): void {
    const c = this.counters;
    c.packets++;
    this.lastSeenMs = receivedMs;
    this.receivedMs = receivedMs;
    this.badDatagram = false;
    this.msgAll = this.msgFlows = this.msgHeld = 0;
    this.expire(receivedMs);
    if (this.version === 5 || this.version === 1) this.processV5(length === buf.byteLength ? buf : buf.subarray(0, length));
    else if (this.version === 9) {
      const e = readV9Header(dv, length, this.v9h);
      if (e !== WireError.OK) this.onError(e, 0);
      else {
        this.curUptime = this.v9h.sysUptime;
        this.curSecs = this.v9h.unixSecs;
        this.setRate(0);
        walkSets(V9, dv, V9_HEADER_LENGTH, length, this);
        this.checkSequence(this.v9h.sequence, 1);
      }
    } else {
      const e = readIpfixHeader(dv, length, this.ih);
      if (e !== WireError.OK) this.onError(e, 0);
      else {
        this.curSecs = this.ih.exportTime;
        this.setRate(0);
        walkSets(IPFIX, dv, IPFIX_HEADER_LENGTH, this.ih.length, this);
        this.checkIpfixSequence(this.ih.sequence);
      }
    }
    if (this.badDatagram) c.malformed++;
  }

  /** Drops held data sets older than the configured age. */
  expire(nowMs: number): void {
    const limit = nowMs - this.cfg.maxPendingAgeMs;
    let n = 0;
    while (n < this.pending.length && this.pending[n].receivedMs < limit) n++;
    if (n === 0) return;
    const ids = new Set<number>();
    for (const p of this.pending.splice(0, n)) {
      this.releasePending(p);
      ids.add(p.setId);
    }
    this.counters.expiredSets += n;
    this.say('expired', `${this.name}: ${n} data set(s) for template(s) ${[...ids].join(', ')} expired after ` +
      `${this.cfg.maxPendingAgeMs / 1000} s without their template (counted)`);
  }

  /** Releases everything the shared budget counts for this session (it is being evicted). */
  dispose(): void {
    for (const slot of this.templates.values()) this.forget(slot);
    this.templates.clear();
    for (const p of this.pending) this.releasePending(p);
    this.pending.length = 0;
  }

  get templateCount(): number {
    return this.templates.size;
  }

  get pendingSets(): number {
    return this.pending.length;
  }

  // ---------------------------------------------------------------------------------------------------------
  // SetVisitor: called by the set walk in wire order.

  /**
   * Exporters resend their template sets every few datagrams, byte for byte: a set equal to the last one of its kind
   * defines the same templates again, so they are refreshed without parsing. Only sets that parsed cleanly and
   * withdrew nothing are kept, so replaying one has exactly the effects parsing it had.
   */
  templateSet(f: Flavor, dv: DataView, start: number, end: number, options: boolean): number {
    const known = this.knownSets[options ? 1 : 0];
    if (known !== null && known.bytes.length === end - start && sameBytes(known.bytes, dv, start)) {
      for (const t of known.templates) this.onTemplate(t);
      return WireError.OK;
    }
    return this.parseSet(f, dv, start, end, options);
  }

  /** A set not seen just before: parsed, and kept if it can be replayed. Apart, so templateSet stays small to compile. */
  private parseSet(f: Flavor, dv: DataView, start: number, end: number, options: boolean): number {
    const k = options ? 1 : 0;
    const n = end - start;
    this.knownSets[k] = null;
    const parsed: Template[] = [];
    this.parsed = parsed;
    const withdrawn = this.counters.templatesWithdrawn;
    let e: number;
    try {
      e = parseTemplateSet(f, dv, start, end, options, this);
    } finally {
      this.parsed = null;
    }
    if (e === WireError.OK && n <= MAX_KNOWN_SET_BYTES && parsed.length > 0 && this.counters.templatesWithdrawn === withdrawn) {
      this.knownSets[k] = { bytes: new Uint8Array(dv.buffer, dv.byteOffset + start, n).slice(), templates: parsed };
    }
    return e;
  }

  onTemplate(t: Template): void {
    this.parsed?.push(t);
    const c = this.counters;
    c.templates++;
    const old = this.templates.get(t.id);
    if (old !== undefined && old.t === t) {
      this.refresh(old);
      return;
    }
    // A refresh (the same layout again, every few datagrams from most exporters) keeps its slot, with the template's
    // compiled plans and decoder; it only moves to the newest end of both orders, as a new definition would.
    let slot: TemplateSlot = { session: this, t, sets: 0, decoder: null, transcoder: null, fileTemplate: -1, options: null };
    if (old !== undefined) {
      // RFC 7011 §8.1 / RFC 3954 §5.2: a new definition of an ID replaces the old one.
      if (old.t.sameLayout(t)) slot = old;
      else c.templatesRedefined++;
      this.forget(old);
      this.templates.delete(t.id);
    }
    this.templates.set(t.id, slot);
    this.budget.lru.set(slot, true);
    this.budget.templateFields += slot.t.fields.length;
    this.enforceTemplateBounds(slot);
    if (this.pending.length > 0) this.replay(slot);
  }

  /**
   * The template in force defined again by the very same object (a template set replayed byte for byte): what onTemplate
   * does for a refresh without its checks. Nothing is added, so the bounds still hold unless they did not before.
   */
  private refresh(slot: TemplateSlot): void {
    const id = slot.t.id;
    this.templates.delete(id);
    this.templates.set(id, slot);
    const b = this.budget;
    b.lru.delete(slot);
    b.lru.set(slot, true);
    if (this.templates.size > this.cfg.maxTemplates || b.templateFields > b.maxTemplateFields) this.enforceTemplateBounds(slot);
    if (this.pending.length > 0) this.replay(slot);
  }

  onWithdraw(templateId: number, options: boolean): void {
    this.counters.templatesWithdrawn++;
    // RFC 7011 §8.1: ID 2 withdraws every template of the session, ID 3 every options template.
    const all = templateId === IPFIX.templateSetId || templateId === IPFIX.optionsSetId;
    for (const [id, slot] of this.templates) {
      if (all ? slot.t.options === options : id === templateId) {
        this.forget(slot);
        this.templates.delete(id);
      }
    }
  }

  onDataSet(setId: number, dv: DataView, start: number, end: number): void {
    const slot = this.templates.get(setId);
    if (slot === undefined) {
      this.hold(setId, new Uint8Array(dv.buffer, dv.byteOffset + start, end - start), this.curUptime, this.curSecs);
      return;
    }
    this.timeBase(this.curUptime, this.curSecs);
    this.decode(slot, dv, start, end, true);
  }

  onError(code: number, _offset: number): void {
    this.badDatagram = true;
    const name = wireErrorName(code);
    const errs = this.counters.errors;
    errs.set(name, (errs.get(name) ?? 0) + 1);
    this.say(`err${code}`, `${this.name}: malformed datagram (${name}); counted, further ones are only counted`);
  }

  // ---------------------------------------------------------------------------------------------------------

  private processV5(buf: Uint8Array): void {
    const h = this.v5h;
    // Sampling is read from the header before any record is delivered (decodeV5 fills h first).
    const e = decodeV5(buf, h, this.rec, { onFlow: (r) => this.onV5Flow(r) }, this.tb);
    if (e !== WireError.OK) {
      this.onError(e, 0);
      return;
    }
    if (h.version === 5) this.checkSequence(h.sequence, h.count);
  }

  private onV5Flow(r: FlowRecord): void {
    if (this.msgFlows === 0) this.setRate(this.v5h.samplingInterval);
    this.msgFlows++;
    this.deliver(r);
  }

  /** The multiplier for this datagram: -s -N always, else what the exporter announced, else -s N. */
  private setRate(announcedHere: number): void {
    const s = this.cfg.sampling;
    if (announcedHere > 0) this.counters.announcedSampling = announcedHere;
    const announced = this.counters.announcedSampling;
    this.rate = s < 0 ? -s : announced > 0 ? announced : s > 0 ? s : 1;
  }

  private timeBase(uptime: number, secs: number): void {
    if (this.version === 9) this.tb.setFromHeader(secs * 1000, uptime);
    else this.tb.setForIpfix(secs, this.systemInitMs);
  }

  private decode(slot: TemplateSlot, dv: DataView, start: number, end: number, counted: boolean): void {
    const t = slot.t;
    const res = this.res;
    const before = this.tb.unresolved;
    let e: number;
    if (t.options) {
      e = this.decodeOptions(slot, dv, start, end, res);
    } else {
      if (slot.decoder === null && ++slot.sets > COMPILE_AFTER_SETS && compilable(t)) this.compile(slot);
      e =
        slot.transcoder !== null && !(this.rate > 1)
          ? this.decodeDirect(slot, dv, start, end, res)
          : slot.decoder !== null
            ? decodeCompiledSet(slot.decoder, dv, start, end, this.tb, this.rec, this.flowSink, res)
            : decodeFlowSet(dv, start, end, t, this.tb, this.rec, this.flowSink, res);
      if (counted) this.msgFlows += res.records;
    }
    if (counted) this.msgAll += res.records;
    this.counters.unresolvedTimes += this.tb.unresolved - before;
    if (e !== WireError.OK) this.onError(e, start);
    else if (res.records === 0) this.onEmptySet(t.id, end - start);
  }

  /** An options data set; one equal to the template's last one has that one's effects without decoding. */
  private decodeOptions(slot: TemplateSlot, dv: DataView, start: number, end: number, res: SetResult): number {
    const known = slot.options;
    if (known !== null && known.bytes.length === end - start && sameBytes(known.bytes, dv, start)) {
      this.counters.optionsRecords += known.records;
      if (known.rate > 0) this.setRate(known.rate);
      if (known.initMs > 0) this.systemInitMs = known.initMs;
      res.records = known.records;
      res.error = WireError.OK;
      return WireError.OK;
    }
    slot.options = null;
    this.optRate = this.optInitMs = 0;
    const e = decodeOptionsSet(dv, start, end, slot.t, this.tb, this.opt, this.optionsCb, res);
    if (e === WireError.OK && res.records > 0 && end - start <= MAX_KNOWN_SET_BYTES) {
      const bytes = new Uint8Array(dv.buffer, dv.byteOffset + start, end - start).slice();
      slot.options = { bytes, records: res.records, rate: this.optRate, initMs: this.optInitMs };
    }
    return e;
  }

  private compile(slot: TemplateSlot): void {
    const t = slot.t;
    slot.decoder = flowDecoderFor(t);
    if (this.direct === null) return;
    const v6 = t.fields.some((f) => f.pen === 0 && (f.id === IE.sourceIPv6Address || f.id === IE.destinationIPv6Address));
    const to = this.direct.templateFor(v6, this.exporter.version === 6);
    slot.fileTemplate = to.index;
    slot.transcoder = transcoderFor(t, to.template);
  }

  /**
   * A data set written straight into the direct sink, as far as it takes records and their times pass deliver's
   * checks; a record that does not goes through the compiled decoder and deliver, and the rest resumes after it.
   * Sampling is never in force here (deliver scales the counters).
   */
  private decodeDirect(slot: TemplateSlot, dv: DataView, start: number, end: number, res: SetResult): number {
    const d = slot.decoder!;
    const write = slot.transcoder!;
    const k = slot.fileTemplate;
    const sink = this.direct!;
    const x = this.tx;
    const tb = this.tb;
    const n = d.length;
    x.limitMs = this.receivedMs + this.maxFutureMs;
    let p = start;
    let records = 0;
    while (end - p >= n) {
      const room = sink.reserve(k);
      if (room > 0) {
        const left = Math.floor((end - p) / n);
        const want = room < left ? room : left;
        const done = write(dv, p, want, sink.out, sink.outView, sink.offsetFor(k), tb, x, this.rec);
        if (done > 0) {
          sink.commit(k, done, x.packets, x.octets);
          this.counters.flows += done;
          records += done;
          p += done * n;
        }
        if (done === want) continue;
      }
      d.record(dv, p, this.rec, tb);
      this.deliver(this.rec);
      records++;
      p += n;
    }
    res.records = records;
    res.error = WireError.OK;
    return WireError.OK;
  }

  private onEmptySet(templateId: number, bytes: number): void {
    this.counters.emptySets++;
    this.say(
      'empty',
      `${this.name}: a data set of template ${templateId} holds no whole record (${bytes} bytes); counted, further ones are only counted`,
    );
  }

  private onOptions(o: OptionsRecord): void {
    this.counters.optionsRecords++;
    const rate = o.samplingRate();
    if (rate > 0) this.setRate((this.optRate = rate));
    if (o.systemInitTimeMs > 0) this.systemInitMs = this.optInitMs = o.systemInitTimeMs;
  }

  /** Every decoded flow record: scale by sampling, stamp the exporter, check its times, pass it on. */
  private deliver(r: FlowRecord): void {
    const k = this.rate;
    if (k > 1) {
      // A rate announced as "n of m" is fractional; counters are whole packets and bytes, in every output.
      r.packets = Math.round(r.packets * k);
      r.octets = Math.round(r.octets * k);
      r.revPackets = Math.round(r.revPackets * k);
      r.revOctets = Math.round(r.revOctets * k);
    }
    if (this.stamp) {
      // Word by word: TypedArray.prototype.set is a call into the runtime, per flow.
      const w = this.exporter.words;
      const x = r.exporter;
      x[0] = w[0];
      x[1] = w[1];
      x[2] = w[2];
      x[3] = w[3];
      r.exporterVersion = this.exporter.version;
    }
    this.counters.flows++;
    const start = recordMs(r, false);
    const end = recordMs(r, true);
    let faults = 0;
    if (end < start) faults |= TimeFault.END_BEFORE_START;
    if (Math.max(start, end) > this.receivedMs + this.maxFutureMs) faults |= TimeFault.FUTURE;
    if (faults === 0) this.out.onFlow(r);
    else this.suspect(r, faults);
  }

  /** Apart from deliver, which runs per flow: this runs for few, and out of its way keeps deliver's code small. */
  private suspect(r: FlowRecord, faults: number): void {
    const c = this.counters;
    if (faults & TimeFault.FUTURE) c.futureTimes++;
    if (faults & TimeFault.END_BEFORE_START) c.endBeforeStart++;
    this.say('time', `${this.name}: flow with impossible times (${faults & TimeFault.FUTURE ? 'in the future' : 'ends before it starts'}); ` +
      'such flows are counted and kept apart');
    this.out.onSuspect(r, faults);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Data before its template

  private hold(setId: number, body: Uint8Array, sysUptime: number, unixSecs: number): void {
    const c = this.counters;
    c.unknownTemplateSets++;
    this.msgHeld++;
    const b = this.budget;
    // Oldest first out: the newest data is the likeliest to meet its template soon.
    while (
      this.pending.length > 0 &&
      (this.pending.length >= this.cfg.maxPendingSets || b.pendingBytes + body.length > b.maxPendingBytes)
    ) {
      this.releasePending(this.pending.shift()!);
      c.droppedSets++;
    }
    if (b.pendingBytes + body.length > b.maxPendingBytes || this.cfg.maxPendingSets === 0) {
      c.droppedSets++;
      return;
    }
    this.pending.push({ setId, body: body.slice(), receivedMs: this.receivedMs, sysUptime, unixSecs });
    this.pendingBytes += body.length;
    b.pendingBytes += body.length;
    this.say('held', `${this.name}: data for template ${setId} before its template; held up to ` +
      `${this.cfg.maxPendingAgeMs / 1000} s for it`);
  }

  /** Decodes, in arrival order, the held sets the new template describes. */
  private replay(slot: TemplateSlot): void {
    const t = slot.t;
    const keep: Pending[] = [];
    const receivedMs = this.receivedMs;
    for (const p of this.pending) {
      if (p.setId !== t.id) {
        keep.push(p);
        continue;
      }
      this.releasePending(p);
      this.counters.replayedSets++;
      // Times are checked against when the data arrived, not when its template did.
      this.receivedMs = p.receivedMs;
      this.timeBase(p.sysUptime, p.unixSecs);
      this.decode(slot, new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength), 0, p.body.byteLength, false);
    }
    this.receivedMs = receivedMs;
    this.pending.length = 0;
    this.pending.push(...keep);
  }

  private releasePending(p: Pending): void {
    this.pendingBytes -= p.body.length;
    this.budget.pendingBytes -= p.body.length;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Template bounds

  private forget(slot: TemplateSlot): void {
    if (this.budget.lru.delete(slot)) this.budget.templateFields -= slot.t.fields.length;
  }

  private enforceTemplateBounds(added: TemplateSlot): void {
    while (this.templates.size > this.cfg.maxTemplates) {
      const [id, oldest] = this.templates.entries().next().value as [number, TemplateSlot];
      this.forget(oldest);
      this.templates.delete(id);
      this.counters.templatesEvicted++;
      this.say('evict', `${this.name}: more than ${this.cfg.maxTemplates} templates; evicting the oldest (counted)`);
    }
    const b = this.budget;
    for (const victim of b.lru.keys()) {
      if (b.templateFields <= b.maxTemplateFields) break;
      if (victim === added) continue;
      victim.session.evictTemplate(victim);
      b.templatesEvicted++;
    }
  }

  private evictTemplate(slot: TemplateSlot): void {
    this.forget(slot);
    if (this.templates.get(slot.t.id) === slot) this.templates.delete(slot.t.id);
    this.counters.templatesEvicted++;
    this.say('evictAll', `${this.name}: all sessions' templates exceed ${this.budget.maxTemplateFields} fields; evicting the oldest (counted)`);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sequence numbers

  /**
   * v5 and v9: the sequence must be the previous one plus the previous datagram's `step` (v5 counts flows, so its
   * record count; v9 counts packets, so 1). The first datagram only synchronises.
   */
  private checkSequence(seq: number, step: number): void {
    if (this.seqSynced) {
      const expected = mod32(this.lastSeq + this.lastAll);
      if (seq !== expected) this.sequenceGap(mod32(seq - expected));
    }
    this.seqSynced = true;
    this.lastSeq = seq;
    this.lastAll = step;
  }

  /**
   * IPFIX: data records sent before this message (RFC 7011 §3.1). Also accepted: numbering that leaves options
   * records out (nfcapd's reading), and numbering that includes this message's own records (softflowd): an offset
   * of exactly this message's count is that style, not a gap. A message whose records could not all be counted
   * (held sets) only resynchronises the next check.
   */
  private checkIpfixSequence(seq: number): void {
    const uncounted = this.msgHeld > 0;
    if (this.seqSynced && !this.lastUncounted) {
      const d = mod32(seq - this.lastSeq);
      const c = this.counters;
      if (d === this.lastAll || d === this.lastFlows) {
        // RFC 7011 numbering.
      } else if (!uncounted && (d === this.msgAll || d === this.msgFlows)) {
        if (!c.inclusiveSequence) {
          c.inclusiveSequence = true;
          this.log(`${this.name}: sequence numbers count the message's own records (softflowd style); tolerated`);
        }
      } else {
        this.sequenceGap(mod32(d - (c.inclusiveSequence ? this.msgAll : this.lastAll)));
      }
    }
    this.seqSynced = true;
    this.lastSeq = seq;
    this.lastAll = this.msgAll;
    this.lastFlows = this.msgFlows;
    this.lastUncounted = uncounted;
  }

  private sequenceGap(missed: number): void {
    const c = this.counters;
    c.sequenceErrors++;
    // Half the number space ahead is a gap; beyond that it is a step back (reordering, exporter restart).
    if (missed < TWO31) c.sequenceLost += missed;
    this.say('seq', `${this.name}: sequence gap (${missed < TWO31 ? `${missed} missing` : 'went back'}); gaps are counted`);
  }

  private say(kind: string, line: string): void {
    if (this.said.has(kind)) return;
    this.said.add(kind);
    this.log(line);
  }
}
