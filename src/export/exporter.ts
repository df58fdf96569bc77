/**
 * Turns expired flow records into export datagrams: one encoder (v1/v5, v9 or IPFIX) filling one reused buffer,
 * templates at the start and on a refresh schedule, and each finished datagram handed to the transport.
 */
import type { FlowRecord, FlowSink } from '../wire/record.js';
import { recordMs } from '../wire/time.js';
import { V5Encoder } from '../wire/v5.js';
import { V9Encoder } from '../wire/v9.js';
import { IpfixEncoder } from '../wire/ipfix.js';
import type { MessageEncoder, TimeMode } from '../wire/template.js';

export type ExportVersion = 1 | 5 | 9 | 10;

/** softflowd resends templates with the first datagram and every 16th after it (IPFIX_DEFAULT_TEMPLATE_INTERVAL). */
export const TEMPLATE_EVERY_DATAGRAMS = 16;
/** And, so that a collector restarted on a quiet link learns them soon, at least this often (export clock). */
export const TEMPLATE_EVERY_MS = 60_000;

/**
 * sysUpTime and the First/Last fields of v1/v5/v9 are u32 milliseconds from the exporter's boot, so they wrap
 * after 49.7 days (softflowd issue #52). Before the uptime gets near that, the boot time moves forward (as if
 * the probe had restarted) so no value ever wraps.
 */
const UPTIME_LIMIT = 2 ** 32;
const REBASE_AT = UPTIME_LIMIT - 2 ** 30;
const REBASE_TO = 2 ** 30;
/**
 * A boot time this far before the first packet: nfcapd 1.7.1 reads First = Last = sysUpTime = 0 as "no time" and
 * stores the epoch, so no relative time may be 0.
 */
export const BOOT_LEAD_MS = 1000;

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

/** What the probe asks of an exporter: FlowExporter, or the export thread's stand-in for it (thread.ts). */
export interface Exporter extends FlowSink {
  readonly stats: ExporterStats;
  setClock(nowMs: number, bootMs: number): void;
  sendTemplates(): void;
  flush(): void;
  flushTemplates(): void;
}

export class FlowExporter implements Exporter {
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
  /** v1/v5/v9 with sysUpTime-relative times: every record of a datagram must lie in [boot, boot + 2^32 ms). */
  private readonly relative: boolean;
  private dgBoot = 0;
  private booted = false;

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
    this.relative = v !== 10 && (options.time === undefined || options.time === 'uptime');
  }

  /**
   * Sets the export clock: "now" for message headers, and (on the first call) the boot time sysUpTime counts
   * from. With -r both come from the capture (latest and first packet), so a collector shows when the traffic
   * happened.
   */
  setClock(nowMs: number, bootMs: number): void {
    this.nowMs = nowMs;
    if (!this.booted) {
      this.booted = true;
      this.bootMs = bootMs;
    }
    if (this.nowMs - this.bootMs >= REBASE_AT) this.bootMs = this.nowMs - REBASE_TO;
  }

  /** Puts the templates in the next datagram (softflowctl send-template, expire-all). */
  sendTemplates(): void {
    this.templatesDue = true;
  }

  onFlow(rec: FlowRecord): void {
    // A record that the open datagram cannot take (none open, full, or with times relative to its boot, outside
    // its window) goes to a new one, all through the one restart() below, which a full datagram exercises soon
    // after start. The window case had a path of its own that V8 had never seen run when it compiled the export
    // into the flow table's finish: the first record outside a window made it throw that compiled code away
    // (--trace-deopt of a live run); so did a separate path for "none open".
    let fresh = false;
    let fits = this.open && (!this.relative || this.inWindow(rec));
    while (!fits || !(this.v5 ? this.v5.addRecord(rec) : this.msg!.addRecord(rec))) {
      if (fresh) throw new Error('a flow record does not fit in an empty datagram');
      this.restart(rec);
      fresh = fits = true;
    }
    if (this.relative) {
      // The header's sysUpTime must not be earlier than a record's end (see MessageEncoder.coverUntil).
      if (this.v5) this.v5.coverUntil(recordMs(rec, true));
      else this.msg!.coverUntil(recordMs(rec, true));
    }
    if (this.v5 && rec.ipVersion !== 4) this.stats.skippedNotIpv4++;
    else this.stats.records++;
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


  /** Whether the record's times can be written relative to the open datagram's boot time. */
  private inWindow(rec: FlowRecord): boolean {
    const start = recordMs(rec, false);
    return start >= this.dgBoot && recordMs(rec, true) - this.dgBoot < UPTIME_LIMIT;
  }

  /**
   * Sends the open datagram and begins the next one for `rec`. With relative times its boot time is the probe's,
   * unless the record started before that (a capture whose clock jumps back, concatenated captures) or ends 2^32
   * ms after it: then the datagram's own boot time is the record's start. Collectors compute boot = header time -
   * sysUpTime for each datagram, so every record still decodes to its own times.
   */
  private restart(rec: FlowRecord): void {
    if (this.open) this.flush();
    let boot = this.bootMs;
    if (this.relative) {
      const start = recordMs(rec, false);
      if (start < boot || recordMs(rec, true) - boot >= UPTIME_LIMIT || this.nowMs - boot >= UPTIME_LIMIT) boot = start - BOOT_LEAD_MS;
    }
    this.begin(boot);
  }

  private begin(boot = this.bootMs): void {
    this.open = true;
    this.dgBoot = boot;
    // The header time must not precede the boot time nor be 2^32 ms after it.
    const now = this.nowMs >= boot && this.nowMs - boot < UPTIME_LIMIT ? this.nowMs : boot;
    if (this.v5) {
      this.v5.beginMessage(now, boot);
      return;
    }
    const m = this.msg!;
    m.beginMessage(now, boot);
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
