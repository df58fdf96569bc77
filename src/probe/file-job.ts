/**
 * The pcap job: read capture files in order as one capture, make flows on the capture's own clock, expire
 * everything at the end, export (or print) them, and report.
 */
import fs from 'node:fs';
import { openFile } from '../capture/file.js';
import { isLinkTypeSupported, unsupportedLinkType } from '../decode/index.js';
import { PacketView } from '../decode/packet.js';
import { BOOT_LEAD_MS } from '../export/exporter.js';
import type { ControlServer } from '../control/server.js';
import { pumpBatch, type PacketConsumer } from './pump.js';
import { Probe } from './probe.js';
import type { ProbeConfig } from './config.js';
import { exportName } from './summary.js';

/** Export datagrams allowed to wait in the paced queue before reading pauses for it. */
const QUEUE_HIGH_WATER = 512;
/** With a control socket open, batches read between turns of the event loop, so the socket answers. */
const BATCHES_PER_TURN = 8;

export interface FileJobResult {
  packets: number;
  probe: Probe;
  error: string | null;
}

export async function runFileJob(cfg: ProbeConfig, log: (line: string) => void): Promise<FileJobResult> {
  const probe = await Probe.create(cfg, log, worthAThread(cfg.files));
  if (probe.transport) {
    for (const c of probe.transport.collectors) log(`exporting flows from ${cfg.files.join(', ')} to ${c} (${exportName(cfg.version)})`);
  }
  let ctl: ControlServer | null = null;
  let stopRequested: 'shutdown' | 'exit' | null = null;
  let paused = false;
  let resume: (() => void) | null = null;
  if (cfg.ctlSock) {
    // A stop must also wake a reading paused by stop-gather, or the job would wait for a start-gather for ever.
    const stop = (how: 'shutdown' | 'exit'): void => {
      stopRequested = how;
      resume?.();
    };
    probe.lifecycle = { shutdown: () => stop('shutdown'), exit: () => stop('exit') };
    probe.gather = {
      stop: () => (paused = true),
      start: () => {
        paused = false;
        resume?.();
      },
      captureCounters: () => null,
    };
    const { startControlServer } = await import('../control/server.js');
    ctl = await startControlServer({ path: cfg.ctlSock, mode: cfg.ctlMode, handler: probe, log });
  }

  // The capture's clock: boot a little before the first packet (so sysUpTime never wraps), now = latest packet.
  let bootMs = -1;
  let clockSec = -1;
  const consumer: PacketConsumer = {
    onPacket(v) {
      if (v.tsSec !== clockSec) {
        if (bootMs < 0) bootMs = v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6) - BOOT_LEAD_MS;
        clockSec = v.tsSec;
        probe.setClock(v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6), bootMs);
        // Idle and FIN/RST timeouts on the capture's clock, as a live probe would have applied them.
        probe.table.scan(clockSec);
        probe.tick();
      }
      probe.onPacket(v);
    },
  };

  const view = new PacketView();
  let packets = 0;
  let batches = 0;
  let error: string | null = null;
  const progress = new Progress(cfg.progress);
  try {
    outer: for (const file of cfg.files) {
      let src;
      try {
        src = openFile(file, { filter: cfg.filter });
      } catch (e) {
        error = withFile(file, isEmpty(file) ? 'the file is empty (no pcap or pcapng header)' : (e as Error).message);
        break;
      }
      // A capture of one link type we do not decode is refused, as softflowd refuses it; a pcapng whose
      // interfaces differ says once per file which of its link types it leaves out (their packets are ignored).
      if (!src.linkTypeVaries && !isLinkTypeSupported(src.linkType)) {
        error = withFile(file, unsupportedLinkType(src.linkType));
        src.close();
        break;
      }
      const unsupported = new Set<number>();
      progress.start(file);
      try {
        for (;;) {
          if (stopRequested) break outer;
          let n: number;
          try {
            n = src.next();
          } catch (e) {
            error = withFile(file, (e as Error).message);
            break outer;
          }
          if (n < 0) break;
          if (src.linkTypeVaries && !isLinkTypeSupported(src.linkType) && !unsupported.has(src.linkType)) {
            unsupported.add(src.linkType);
            log(withFile(file, `${unsupportedLinkType(src.linkType)}: its packets are ignored`));
          }
          pumpBatch(src, n, view, consumer);
          packets += n;
          probe.flush();
          const t = probe.transport;
          if (t && t.pending > QUEUE_HIGH_WATER) await t.drained();
          if (ctl && ++batches % BATCHES_PER_TURN === 0) await new Promise((r) => setImmediate(r));
          while (paused && !stopRequested) await new Promise<void>((r) => (resume = r));
          progress.tick(packets, probe.table.size);
        }
      } finally {
        src.close();
      }
    }
  } finally {
    progress.done();
    if (stopRequested !== 'exit') await probe.finish();
    await ctl?.close();
  }
  return { packets, probe, error };
}

/** Input this large (or of unknown size) repays the export thread's start (some 70 ms; bench/replay.ts). */
const THREAD_BYTES = 64 << 20;

function worthAThread(files: string[]): boolean {
  let bytes = 0;
  for (const f of files) {
    if (f === '-') return true;
    try {
      const st = fs.statSync(f);
      bytes += st.isFile() ? st.size : THREAD_BYTES;
    } catch {
      // Missing: the job will say so.
    }
  }
  return bytes >= THREAD_BYTES;
}

function isEmpty(file: string): boolean {
  try {
    return file !== '-' && fs.statSync(file).size === 0;
  } catch {
    return false;
  }
}

function withFile(file: string, msg: string): string {
  return msg.includes(file) ? msg : `${file}: ${msg}`;
}

/** A progress line on stderr for long files, when stderr is a terminal. */
class Progress {
  private file = '';
  private last = 0;
  private shown = false;

  constructor(private readonly enabled: boolean) {}

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
