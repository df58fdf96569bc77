/**
 * The flow file: the IPFIX File Format (RFC 5655). A file is a plain sequence of IPFIX messages (RFC 7011), the
 * first of which carries one template set holding our normalized templates, so each file describes itself and any
 * IPFIX file reader can read it. Records are written with full-width fields: 8-byte counters and
 * dateTimeNanoseconds times (IEs 156/157), so nothing a FlowRecord holds is rounded away on the way to disk.
 *
 * The templates and the field codecs are the wire module's (src/wire); only the choice of fields is made here.
 */
import { compileFlowWriter, type FlowRecordWriter } from '../wire/compiled.js';
import { IE, PEN_REVERSE } from '../wire/ie.js';
import { IPFIX_HEADER_LENGTH, writeIpfixHeader } from '../wire/ipfix.js';
import type { FlowRecord } from '../wire/record.js';
import { IPFIX, MIN_DATA_SET_ID, Template, writeTemplateRecord, type TemplateField } from '../wire/template.js';
import { TimeBase } from '../wire/time.js';

/** RFC 7011 §3.1: the message length field is 16 bits. */
export const MAX_MESSAGE_LENGTH = 65535;
/** RFC 7011 §3.3.2: a set header is its ID and its length. */
const SET_HEADER_LENGTH = 4;

const f = (id: number, length: number, pen = 0): TemplateField => ({ id, pen, length });

/** What selects a template: the address families in the record, and whether it needs the rarely used fields. */
interface Layout {
  v6: boolean;
  /** An IPv6 next hop on an IPv4 flow (RFC 5549 routes). */
  nextHop6: boolean;
  exporter6: boolean;
  /** MPLS labels and RFC 5103 reverse counters: 70 bytes that most records would carry as zeros. */
  extended: boolean;
}

function layoutFields(l: Layout): TemplateField[] {
  const fields = [
    f(IE.flowStartNanoseconds, 8),
    f(IE.flowEndNanoseconds, 8),
    l.v6 ? f(IE.sourceIPv6Address, 16) : f(IE.sourceIPv4Address, 4),
    l.v6 ? f(IE.destinationIPv6Address, 16) : f(IE.destinationIPv4Address, 4),
    // ICMP type·256+code stays in the destination port, the NetFlow convention FlowRecord keeps.
    f(IE.sourceTransportPort, 2),
    f(IE.destinationTransportPort, 2),
    f(IE.protocolIdentifier, 1),
    // RFC 7125: tcpControlBits is 2 bytes wide.
    f(IE.tcpControlBits, 2),
    f(IE.ipClassOfService, 1),
    f(IE.packetDeltaCount, 8),
    f(IE.octetDeltaCount, 8),
    f(IE.ingressInterface, 4),
    f(IE.egressInterface, 4),
    f(IE.flowDirection, 1),
    f(IE.flowEndReason, 1),
    f(IE.vlanId, 2),
    f(IE.postVlanId, 2),
    f(IE.sourceMacAddress, 6),
    f(IE.destinationMacAddress, 6),
    f(IE.bgpSourceAsNumber, 4),
    f(IE.bgpDestinationAsNumber, 4),
    l.v6 ? f(IE.sourceIPv6PrefixLength, 1) : f(IE.sourceIPv4PrefixLength, 1),
    l.v6 ? f(IE.destinationIPv6PrefixLength, 1) : f(IE.destinationIPv4PrefixLength, 1),
    l.v6 || l.nextHop6 ? f(IE.ipNextHopIPv6Address, 16) : f(IE.ipNextHopIPv4Address, 4),
    l.exporter6 ? f(IE.exporterIPv6Address, 16) : f(IE.exporterIPv4Address, 4),
  ];
  if (l.v6) fields.push(f(IE.flowLabelIPv6, 4));
  if (l.extended) {
    for (let i = 0; i < 10; i++) fields.push(f(IE.mplsTopLabelStackSection + i, 3));
    fields.push(
      f(IE.octetDeltaCount, 8, PEN_REVERSE),
      f(IE.packetDeltaCount, 8, PEN_REVERSE),
      f(IE.ipClassOfService, 1, PEN_REVERSE),
      f(IE.tcpControlBits, 2, PEN_REVERSE),
    );
  }
  return fields;
}

/**
 * Template index from the layout bits: v6 flows always use an IPv6 next hop, so that bit is folded for them. The
 * bits one by one, not a Layout: fileTemplateIndex runs per flow.
 */
function layoutIndex(v6: boolean, nextHop6: boolean, exporter6: boolean, extended: boolean): number {
  return (v6 ? 4 : nextHop6 ? 2 : 0) + (exporter6 ? 1 : 0) + (extended ? 6 : 0);
}

function buildTemplates(): Template[] {
  const out: Template[] = [];
  for (const extended of [false, true]) {
    for (const [v6, nextHop6] of [[false, false], [false, true], [true, true]] as const) {
      for (const exporter6 of [false, true]) {
        const i = layoutIndex(v6, nextHop6, exporter6, extended);
        out[i] = new Template(10, MIN_DATA_SET_ID + i, layoutFields({ v6, nextHop6, exporter6, extended }));
      }
    }
  }
  return out;
}

/** The normalized templates, IDs 256..267, written at the start of every file. */
export const FILE_TEMPLATES: readonly Template[] = buildTemplates();

/**
 * One generated writer per template, shared by every file (see src/wire/compiled.ts): a loop over the codecs cost
 * most of the time of storing a flow.
 */
const FILE_WRITERS: readonly FlowRecordWriter[] = FILE_TEMPLATES.map(compileFlowWriter);

/**
 * The template of a record with neither MPLS labels nor reverse counters, of either family, with the next hop of
 * its family: what a receiver writing records straight from a datagram (compiled.ts's transcoders) picks once per
 * exporter template.
 */
export function plainTemplateIndex(v6: boolean, exporter6: boolean): number {
  return layoutIndex(v6, false, exporter6, false);
}

/** Which of {@link FILE_TEMPLATES} carries this record without losing anything. */
export function fileTemplateIndex(r: FlowRecord): number {
  const extended = r.mplsDepth > 0 || r.revPackets !== 0 || r.revOctets !== 0 || r.revTcpFlags !== 0 || r.revTos !== 0;
  const nh = r.nextHop;
  return layoutIndex(r.ipVersion === 6, (nh[1] | nh[2] | nh[3]) !== 0, r.exporterVersion === 6, extended);
}

/** Bytes of the template set that opens each file. */
const TEMPLATE_SET_LENGTH = SET_HEADER_LENGTH + FILE_TEMPLATES.reduce((n, t) => n + t.wireLength(), 0);

/**
 * Builds one file message at a time into a reused buffer: begin (with or without the template set), add records
 * while they fit, finish. The header's sequence number is the count of data records written to the file before
 * the message (RFC 7011 §3.1), so each file is one correctly numbered stream.
 */
export class FileMessageBuilder {
  /** The message being built; records written into it by the caller go at {@link offsetFor} (see commit). */
  readonly buf: Uint8Array;
  readonly dv: DataView;
  /** Absolute times need no base; the codecs take one anyway. */
  private readonly tb = new TimeBase();
  private pos = 0;
  private setStart = -1;
  private setId = -1;
  private exportSec = 0;
  private sequence = 0;
  /** Data records in the message being built. */
  records = 0;
  /** Whether a message has been begun and not finished. */
  open = false;

  constructor(readonly maxLength = MAX_MESSAGE_LENGTH) {
    const largest = Math.max(...FILE_TEMPLATES.map((t) => t.fixedLength));
    if (!(maxLength >= IPFIX_HEADER_LENGTH + TEMPLATE_SET_LENGTH + SET_HEADER_LENGTH + largest && maxLength <= MAX_MESSAGE_LENGTH)) {
      throw new RangeError(`file message size must hold the templates and a record and be at most ${MAX_MESSAGE_LENGTH}`);
    }
    this.buf = new Uint8Array(maxLength);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Starts a message; `sequence` is the number of data records already in the file. */
  begin(exportSec: number, sequence: number, withTemplates: boolean): void {
    this.exportSec = exportSec;
    this.sequence = sequence;
    this.pos = IPFIX_HEADER_LENGTH;
    this.records = 0;
    this.setStart = this.setId = -1;
    this.open = true;
    if (withTemplates) {
      this.openSet(IPFIX.templateSetId);
      for (const t of FILE_TEMPLATES) this.pos = writeTemplateRecord(IPFIX, this.dv, this.pos, t);
      this.closeSet();
    }
  }

  /** Appends a record; false when the message is full (finish it and add the record to the next one). */
  add(r: FlowRecord): boolean {
    const k = fileTemplateIndex(r);
    const t = FILE_TEMPLATES[k];
    const need = (this.setId === t.id ? 0 : SET_HEADER_LENGTH) + t.fixedLength;
    if (this.pos + need > this.buf.length) return false;
    if (this.setId !== t.id) {
      this.closeSet();
      this.openSet(t.id);
    }
    FILE_WRITERS[k](this.dv, this.buf, this.pos, r, this.tb);
    this.pos += t.fixedLength;
    this.records++;
    return true;
  }

  /** Whole records of template `k` the message still has room for. */
  room(k: number): number {
    const t = FILE_TEMPLATES[k];
    const free = this.buf.length - this.pos - (this.setId === t.id ? 0 : SET_HEADER_LENGTH);
    return free < t.fixedLength ? 0 : Math.floor(free / t.fixedLength);
  }

  /** Where the next record of template `k` goes: after the set header, if it starts a set. */
  offsetFor(k: number): number {
    return this.pos + (this.setId === FILE_TEMPLATES[k].id ? 0 : SET_HEADER_LENGTH);
  }

  /** The caller wrote `n` records of template `k` from offsetFor(k) on (at most room(k)): they join the message. */
  commit(k: number, n: number): void {
    if (n <= 0) return;
    const t = FILE_TEMPLATES[k];
    if (this.setId !== t.id) {
      this.closeSet();
      this.openSet(t.id);
    }
    this.pos += n * t.fixedLength;
    this.records += n;
  }

  /** Completes the message and returns it: a view of the reused buffer, valid until the next begin. */
  finish(): Uint8Array {
    this.closeSet();
    writeIpfixHeader(this.dv, 0, this.pos, this.exportSec, this.sequence, 0);
    this.open = false;
    return this.buf.subarray(0, this.pos);
  }

  /** Bytes the message would have if finished now. */
  get length(): number {
    return this.pos;
  }

  private openSet(id: number): void {
    this.setStart = this.pos;
    this.setId = id;
    this.dv.setUint16(this.pos, id);
    this.pos += SET_HEADER_LENGTH;
  }

  /** Sets are not padded: records are whole fields, and RFC 7011 §3.3.1 makes padding optional. */
  private closeSet(): void {
    if (this.setStart < 0) return;
    this.dv.setUint16(this.setStart + 2, this.pos - this.setStart);
    this.setStart = this.setId = -1;
  }
}

/**
 * File names. Flows of the slot starting at `slotMs` go to `PREFIX.YYYYMMDDhhmm` (local time, as nfcapd names
 * its files), with seconds appended when the interval is under a minute; while being written the file is
 * `.PREFIX.<slot>.<pid>.tmp`, hidden from readers and from shell globs.
 */
export function slotName(prefix: string, slotMs: number, intervalSec: number): string {
  const d = new Date(slotMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  let s = `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}${two(d.getHours())}${two(d.getMinutes())}`;
  if (intervalSec < 60) s += two(d.getSeconds());
  return `${prefix}.${s}`;
}

export function tempName(finalName: string, pid: number): string {
  return `.${finalName}.${pid}.tmp`;
}

/** `.PREFIX.<stamp>.<pid>.tmp` → final name and pid, or null for anything else. */
export function parseTempName(name: string, prefix: string): { finalName: string; pid: number } | null {
  const m = /^\.(.+)\.(\d+)\.tmp$/.exec(name);
  if (!m || !m[1].startsWith(prefix + '.')) return null;
  return { finalName: m[1], pid: Number(m[2]) };
}

/** Start of the aligned slot holding `ms`: slots are aligned on the epoch, as nfcapd aligns them. */
export function slotStart(ms: number, intervalSec: number): number {
  const len = intervalSec * 1000;
  return Math.floor(ms / len) * len;
}
