/**
 * The probe's state for one run: flow table, exporter (or flow printer), transport, counters, and the answers to
 * the control socket's commands. The file job and the live job feed it packets; it never reaches back into them.
 */
import { dirProblem } from '../control/unix.js';
import { FlowTable } from '../flow/table.js';
import { FlowExporter, type Exporter, type ExporterOptions } from '../export/exporter.js';
import { UdpTransport, type Transport } from '../export/transport.js';
import { ExportThread } from '../export/thread.js';
import { THREAD_BY_DEFAULT } from '../thread/start.js';
import type { FlowRecord, FlowSink } from '../wire/record.js';
import type { PacketView } from '../decode/packet.js';
import { formatAddr } from '../decode/address.js';
import type { ControlHandler, FlowDump, StatsSnapshot, CaptureCounters } from '../control/handler.js';
import type { Timeouts } from '../flow/expiry.js';
import type { PacketConsumer } from './pump.js';
import type { FlowPrinter } from './print-flows.js';
import type { FlowFileWriter } from '../store/writer.js';
import type { ProbeConfig } from './config.js';

/** What the probe asks of its packet source through the control socket. */
export interface GatherControl {
  stop(): void;
  start(): void;
  captureCounters(): CaptureCounters | null;
}

/** Requests the control socket makes of the job that runs the probe. */
export interface Lifecycle {
  shutdown(): void;
  exit(): void;
}

export class Probe implements ControlHandler, PacketConsumer {
  readonly table: FlowTable;
  readonly exporter: Exporter | null;
  readonly printer: FlowPrinter | null;
  /** -w DIR: flows stored in rotating files, as flowcapd stores them. */
  readonly writer: FlowFileWriter | null;
  /** The probe's clock in ms (the capture's with -r): picks the writer's file interval. */
  private nowMs = Date.now();
  readonly since = Math.floor(Date.now() / 1000);
  gather: GatherControl | null = null;
  lifecycle: Lifecycle | null = null;
  debugLevel: number;

  private constructor(
    readonly cfg: ProbeConfig,
    readonly transport: Transport | null,
    exporter: Exporter | null,
    /** The flow printer's and the file writer's classes, loaded by create() only when the run needs them. */
    classes: { Printer?: typeof FlowPrinter; Writer?: typeof FlowFileWriter },
    private readonly log: (line: string) => void,
  ) {
    this.debugLevel = cfg.debug ? 1 : 0;
    const sinks: FlowSink[] = [];
    this.writer = cfg.writeDir
      ? new classes.Writer!({ dir: cfg.writeDir, interval: cfg.rotateSeconds, now: () => this.nowMs, log })
      : null;
    if (exporter) {
      this.exporter = exporter;
      this.printer = null;
      sinks.push(exporter);
    } else {
      this.exporter = null;
      // Without a collector the flows are printed, unless they go to files.
      this.printer = this.writer ? null : new classes.Printer!(cfg.format, process.stdout);
      if (this.printer) sinks.push(this.printer);
    }
    if (this.writer) sinks.push(this.writer);
    const sink: FlowSink =
      sinks.length === 1
        ? sinks[0]!
        : {
            onFlow(rec: FlowRecord) {
              for (const k of sinks) k.onFlow(rec);
            },
          };
    const probe = this;
    // Always in the path (one check per expired flow, not per packet): `debug+` turns on EXPIRED lines in a
    // probe started without -D, as it turns on ADD FLOW lines.
    const debugSink: FlowSink = {
      onFlow(rec: FlowRecord) {
        if (probe.debugLevel > 0) probe.log(`EXPIRED: ${describeRecord(rec)}`);
        sink.onFlow(rec);
      },
    };
    this.table = new FlowTable(debugSink, {
      maxFlows: cfg.maxFlows,
      timeouts: cfg.timeouts,
      tracking: cfg.tracking,
      octets: cfg.octets,
      trackV6: cfg.trackV6,
      sampling: cfg.sampling,
      biflow: cfg.biflow,
    });
  }

  /**
   * Opens the export: when running the build, on a thread of its own (export/thread.ts), so encoding and
   * sending run beside the flow table, unless `exportThread` says the job is too short to repay the thread's
   * start. FLOWPROBE_EXPORT_THREAD=1 or 0 chooses either way.
   */
  static async create(cfg: ProbeConfig, log: (line: string) => void, exportThread = true): Promise<Probe> {
    // As flowcapd's -l: the writer would otherwise fail later, with Node's own text.
    const dirIssue = cfg.writeDir === undefined ? null : dirProblem(cfg.writeDir);
    if (dirIssue !== null) throw new Error(`-w ${cfg.writeDir}: ${dirIssue}`);
    let transport: Transport | null = null;
    let exporter: Exporter | null = null;
    if (cfg.collectors.length) {
      const topts = {
        rate: cfg.exportRate,
        loadBalance: cfg.loadBalance,
        hopLimit: cfg.hopLimit,
        sendInterface: cfg.sendInterface,
        onError: log,
      };
      const eopts: ExporterOptions = {
        version: cfg.version,
        time: cfg.time,
        vlan: cfg.tracking === 'vlan' || cfg.tracking === 'ether',
        mac: cfg.tracking === 'ether',
        mplsLabels: cfg.mplsLabels,
        biflow: cfg.biflow,
        samplingInterval: cfg.sampling > 1 ? cfg.sampling : 1,
        meteringProcessId: process.pid,
      };
      const env = process.env.FLOWPROBE_EXPORT_THREAD;
      if (env === '0' || (env !== '1' && !(THREAD_BY_DEFAULT && exportThread))) {
        const t = await UdpTransport.open(cfg.collectors, topts);
        transport = t;
        exporter = new FlowExporter(t, eopts);
      } else {
        const t = await ExportThread.open(cfg.collectors, topts, eopts);
        transport = t.transport;
        exporter = t.exporter;
      }
    }
    const classes = {
      Printer: !exporter && !cfg.writeDir ? (await import('./print-flows.js')).FlowPrinter : undefined,
      Writer: cfg.writeDir ? (await import('../store/writer.js')).FlowFileWriter : undefined,
    };
    return new Probe(cfg, transport, exporter, classes, log);
  }

  /** Sets the export clock (ms): now, and the boot time sysUpTime counts from. */
  setClock(nowMs: number, bootMs: number): void {
    this.nowMs = nowMs;
    this.exporter?.setClock(nowMs, bootMs);
  }

  /** About once a second: lets the file writer rotate on its boundary and retry a disk that was full. */
  tick(): void {
    this.writer?.tick();
  }

  onPacket(v: PacketView): void {
    if (!this.table.sample()) return;
    if (this.debugLevel > 0) {
      const before = this.table.size;
      this.table.update(v);
      if (this.table.size > before) this.log(`ADD FLOW ${describePacket(v)}`);
      return;
    }
    this.table.update(v);
  }

  /** Sends what the exporter holds (after a scan or a batch). */
  flush(): void {
    this.exporter?.flush();
    this.printer?.flush();
  }

  /** Expires what is due at nowSec and sends it. */
  scan(nowSec: number): number {
    const n = this.table.scan(nowSec);
    this.flush();
    return n;
  }

  /** End of input or shutdown: softflowd's last check, then every flow out, sent, and the transport drained. */
  async finish(): Promise<void> {
    this.table.enforceMaxFlows();
    this.table.expireAll();
    this.flush();
    if (this.writer && !this.writer.close()) this.log(`some flows could not be written to ${this.writer.dir} (see above)`);
    if (this.transport) await this.transport.close();
  }

  // ---- the control socket's commands ----

  statistics(): StatsSnapshot {
    const e = this.exporter?.stats;
    return {
      since: this.since,
      flow: this.table.stats,
      export: {
        // softflowd's "Flows exported" counts flows leaving the table (a two-way flow once), collector or not.
        flowsExported: this.table.stats.flowsExpired,
        recordsExported: e ? e.records : (this.printer?.count ?? 0),
        packetsExported: e ? e.datagrams : 0,
        exportFailures: this.transport?.stats.failures ?? 0,
      },
      capture: this.gather?.captureCounters() ?? null,
    };
  }

  dumpFlows(): FlowDump {
    return { now: this.table.clock || Math.floor(Date.now() / 1000), flows: this.table.dumpFlows() };
  }

  timeouts(): Timeouts {
    return this.cfg.timeouts;
  }

  expireAll(): number {
    this.exporter?.sendTemplates();
    const n = this.table.expireAll();
    this.flush();
    return n;
  }

  deleteAll(): number {
    return this.table.deleteAll();
  }

  sendTemplate(): void {
    this.exporter?.sendTemplates();
  }

  stopGather(): void {
    this.gather?.stop();
  }

  startGather(): void {
    this.gather?.start();
  }

  debug(delta: 1 | -1): void {
    this.debugLevel = delta > 0 ? 1 : 0;
  }

  shutdown(): void {
    this.lifecycle?.shutdown();
  }

  exit(): void {
    this.lifecycle?.exit();
  }
}

function describePacket(v: PacketView): string {
  return (
    `[${formatAddr(v.src, v.ipVersion)}]:${v.srcPort} <> [${formatAddr(v.dst, v.ipVersion)}]:${v.dstPort} ` +
    `proto:${v.protocol} vlan:${v.vlan}`
  );
}

function describeRecord(r: FlowRecord): string {
  return (
    `[${formatAddr(r.src, r.ipVersion)}]:${r.srcPort} > [${formatAddr(r.dst, r.ipVersion)}]:${r.dstPort} ` +
    `proto:${r.protocol} octets:${r.octets} packets:${r.packets} tcp:${r.tcpFlags.toString(16).padStart(2, '0')} ` +
    `reason:${r.endReason}`
  );
}
