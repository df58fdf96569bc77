/**
 * Turns expired flow records into export datagrams: one encoder (v1/v5, v9 or IPFIX) filling one reused buffer,
 * templates at the start and on a refresh schedule, and each finished datagram handed to the transport.
 */
import type { FlowRecord, FlowSink } from '../wire/record.js';
import { V5Encoder } from '../wire/v5.js';
import { V9Encoder } from '../wire/v9.js';
import { IpfixEncoder } from '../wire/ipfix.js';
import type { MessageEncoder, TimeMode } from '../wire/template.js';

export type ExportVersion = 1 | 5 | 9 | 10;

/** softflowd resends templates with the first datagram and every 16th after it (IPFIX_DEFAULT_TEMPLATE_INTERVAL). */
export const TEMPLATE_EVERY_DATAGRAMS = 16;
/** And, so that a collector restarted on a quiet link learns them soon, at least this often (export clock). */
export const TEMPLATE_EVERY_MS = 60_000;

export interface ExporterOptions {
  version: ExportVersion;
  time?: TimeMode;
  vlan?: boolean;
  mac?: boolean;
  mplsLabels?: number;
  biflow?: boolean;
  samplingInterval?: number;
  domainId?: number;
  maxDatagram?: number;
  meteringProcessId?: number;
}

/** Where finished datagrams go (the UDP transport, or a test's array). */
export interface DatagramSink {
  send(datagram: Uint8Array): void;
}

export interface ExporterStats {
  /** Flow records encoded (one per direction, or one per biflow with -b). */
  records: number;
  /** Datagrams produced. */
  datagrams: number;
  /** Records a v1/v5 export could not carry (IPv6). */
  skippedNotIpv4: number;
}

export class FlowExporter implements FlowSink {
  readonly stats: ExporterStats = { records: 0, datagrams: 0, skippedNotIpv4: 0 };
  private readonly v5: V5Encoder | null;
  private readonly msg: MessageEncoder | null;
  private open = false;
  private nowMs = 0;
  private bootMs = 0;
  private sinceTemplates = 0;
  private templatesAtMs = -Infinity;
  private templatesDue = true;
  private templatesInOpen = false;

  constructor(
    private readonly out: DatagramSink,
    readonly options: ExporterOptions,
  ) {
    const v = options.version;
    if (v === 1 || v === 5) {
      this.v5 = new V5Encoder({ version: v, samplingInterval: options.samplingInterval });
      this.msg = null;
    } else if (v === 9 || v === 10) {
      const o = {
        time: options.time,
        vlan: options.vlan,
        mac: options.mac,
        mplsLabels: options.mplsLabels,
        biflow: options.biflow,
        samplingInterval: options.samplingInterval,
        domainId: options.domainId,
        maxDatagram: options.maxDatagram,
        meteringProcessId: options.meteringProcessId,
      };
      this.msg = v === 9 ? new V9Encoder(o) : new IpfixEncoder(o);
      this.v5 = null;
    } else {
      throw new RangeError(`unsupported NetFlow version ${String(v)} (1, 5, 9 or 10)`);
    }
  }

  /**
   * Sets the export clock: "now" for message headers and the exporter's boot time that sysUpTime counts from.
   * With -r both come from the capture (last and first packet), so a collector shows when the traffic happened.
   */
  setClock(nowMs: number, bootMs: number): void {
    this.nowMs = nowMs;
    this.bootMs = bootMs;
  }

  /** Puts the templates in the next datagram (softflowctl send-template, expire-all). */
  sendTemplates(): void {
    this.templatesDue = true;
  }

  onFlow(rec: FlowRecord): void {
    if (this.v5) {
      if (!this.open) this.begin();
      if (!this.v5.addRecord(rec)) {
        this.flush();
        this.begin();
        this.v5.addRecord(rec);
      }
      if (rec.ipVersion !== 4) this.stats.skippedNotIpv4++;
      else this.stats.records++;
      return;
    }
    const m = this.msg!;
    if (!this.open) this.begin();
    if (!m.addRecord(rec)) {
      this.flush();
      this.begin();
      if (!m.addRecord(rec)) throw new Error('a flow record does not fit in an empty datagram');
    }
    this.stats.records++;
  }

  /** Sends the datagram being filled, if it holds anything. */
  flush(): void {
    if (!this.open) return;
    this.open = false;
    const count = this.v5 ? this.v5.recordCount : this.msg!.recordCount;
    // A v9/IPFIX message holding only templates is still worth sending; an empty v5 one is not.
    if (count === 0 && !this.templatesInOpen) return;
    const d = this.v5 ? this.v5.finish() : this.msg!.finish();
    this.out.send(d);
    this.stats.datagrams++;
  }

  /** Sends a datagram with only the templates (v9/IPFIX), e.g. at start-up of a live probe. */
  flushTemplates(): void {
    if (!this.msg) return;
    this.templatesDue = true;
    if (!this.open) this.begin();
    this.flush();
  }


  private begin(): void {
    this.open = true;
    if (this.v5) {
      this.v5.beginMessage(this.nowMs, this.bootMs);
      return;
    }
    const m = this.msg!;
    m.beginMessage(this.nowMs, this.bootMs);
    this.templatesInOpen = false;
    const due =
      this.templatesDue ||
      this.sinceTemplates >= TEMPLATE_EVERY_DATAGRAMS ||
      this.nowMs - this.templatesAtMs >= TEMPLATE_EVERY_MS;
    if (due) {
      if (!m.addTemplates()) throw new Error('the templates do not fit in one datagram');
      this.templatesInOpen = true;
      this.templatesDue = false;
      this.sinceTemplates = 0;
      this.templatesAtMs = this.nowMs;
    }
    this.sinceTemplates++;
  }
}
