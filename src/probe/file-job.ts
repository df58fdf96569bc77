/**
 * The pcap job: read capture files in order as one capture, make flows on the capture's own clock, expire
 * everything at the end, export (or print) them, and report.
 */
import { openFile } from '../capture/file.js';
import { PacketView } from '../decode/packet.js';
import { FlowTable } from '../flow/table.js';
import { FlowExporter, BOOT_LEAD_MS } from '../export/exporter.js';
import { UdpTransport } from '../export/transport.js';
import type { FlowSink } from '../wire/record.js';
import { pumpBatch, type PacketConsumer } from './pump.js';
import { FlowPrinter } from './print-flows.js';
import type { ProbeConfig } from './config.js';

/** Export datagrams allowed to wait in the paced queue before reading pauses for it. */
const QUEUE_HIGH_WATER = 512;

export interface FileJobResult {
  packets: number;
  table: FlowTable;
  exporter: FlowExporter | null;
  transport: UdpTransport | null;
  printed: number;
  error: string | null;
}

export async function runFileJob(cfg: ProbeConfig, log: (line: string) => void): Promise<FileJobResult> {
  let transport: UdpTransport | null = null;
  let exporter: FlowExporter | null = null;
  let printer: FlowPrinter | null = null;
  let sink: FlowSink;
  if (cfg.collectors.length) {
    transport = await UdpTransport.open(cfg.collectors, {
      rate: cfg.exportRate,
      loadBalance: cfg.loadBalance,
      hopLimit: cfg.hopLimit,
      onError: log,
    });
    exporter = new FlowExporter(transport, {
      version: cfg.version,
      time: cfg.time,
      vlan: cfg.tracking === 'vlan' || cfg.tracking === 'ether',
      mac: cfg.tracking === 'ether',
      mplsLabels: cfg.mplsLabels,
      biflow: cfg.biflow,
      samplingInterval: cfg.sampling > 1 ? cfg.sampling : 1,
      meteringProcessId: process.pid,
    });
    for (const c of transport.collectors) log(`exporting flows from ${cfg.files.join(', ')} to ${c} (NetFlow v${cfg.version})`);
    sink = exporter;
  } else {
    printer = new FlowPrinter(cfg.format, process.stdout);
    sink = printer;
  }
  const table = new FlowTable(sink, {
    maxFlows: cfg.maxFlows,
    timeouts: cfg.timeouts,
    tracking: cfg.tracking,
    octets: cfg.octets,
    trackV6: cfg.trackV6,
    sampling: cfg.sampling,
    biflow: cfg.biflow,
  });

  // The capture's clock: boot = first packet (so sysUpTime never wraps), now = latest packet.
  let bootMs = -1;
  let clockSec = -1;
  const consumer: PacketConsumer = {
    onPacket(v) {
      if (!table.sample()) return;
      if (v.tsSec !== clockSec) {
        if (bootMs < 0) bootMs = v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6) - BOOT_LEAD_MS;
        clockSec = v.tsSec;
        exporter?.setClock(v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6), bootMs);
        // Idle and FIN/RST timeouts on the capture's clock, as a live probe would have applied them.
        table.scan(clockSec);
      }
      table.update(v);
    },
  };

  const view = new PacketView();
  let packets = 0;
  let error: string | null = null;
  const progress = new Progress(cfg.progress, log);
  outer: for (const file of cfg.files) {
    let src;
    try {
      src = openFile(file, { filter: cfg.filter });
    } catch (e) {
      error = withFile(file, (e as Error).message);
      break;
    }
    progress.start(file);
    try {
      for (;;) {
        let n: number;
        try {
          n = src.next();
        } catch (e) {
          error = withFile(file, (e as Error).message);
          break outer;
        }
        if (n < 0) break;
        pumpBatch(src, n, view, consumer);
        packets += n;
        exporter?.flush();
        printer?.flush();
        if (transport && transport.pending > QUEUE_HIGH_WATER) await transport.drained();
        progress.tick(packets, table.size);
      }
    } finally {
      src.close();
    }
  }
  progress.done();

  // End of input: softflowd's last between-batch check, then flush everything (reason "flushed").
  table.enforceMaxFlows();
  table.expireAll();
  exporter?.flush();
  printer?.flush();
  if (transport) await transport.close();
  return { packets, table, exporter, transport, printed: printer?.count ?? 0, error };
}

function withFile(file: string, msg: string): string {
  return msg.includes(file) ? msg : `${file}: ${msg}`;
}

/** A progress line on stderr for long files, when stderr is a terminal. */
class Progress {
  private file = '';
  private last = 0;
  private shown = false;

  constructor(
    private readonly enabled: boolean,
    private readonly log: (line: string) => void,
  ) {}

  start(file: string): void {
    this.file = file;
    this.last = performance.now();
  }

  tick(packets: number, flows: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 1000) return;
    this.last = now;
    this.shown = true;
    process.stderr.write(`\r${this.file}: ${packets.toLocaleString('en-US')} packets, ${flows.toLocaleString('en-US')} active flows   `);
  }

  done(): void {
    if (this.shown) process.stderr.write('\n');
    this.shown = false;
  }
}
