/**
 * The live probe: capture on an interface in batches when the event loop says packets are ready, expire flows on
 * a timer (expint) and under table pressure, answer the control socket, and on SIGTERM/SIGINT/shutdown export
 * every flow before leaving.
 */
import fs from 'node:fs';
import { openLive } from '../capture/live.js';
import { resolveInterface } from '../capture/interfaces.js';
import type { PacketSource } from '../capture/source.js';
import { isLinkTypeSupported, unsupportedLinkType } from '../decode/index.js';
import { PacketView } from '../decode/packet.js';
import { BOOT_LEAD_MS } from '../export/exporter.js';
import { startControlServer, type ControlServer } from '../control/server.js';
import { processAlive, strerror } from '../control/unix.js';
import { pumpBatch } from './pump.js';
import { Probe } from './probe.js';
import type { ProbeConfig } from './config.js';
import { exportName } from './summary.js';

/** Enough for Ethernet, stacked tags, an MPLS stack and an IPv6 extension chain before the transport header. */
export const DEFAULT_LIVE_SNAPLEN = 512;
/** Batches read per wake-up before other work (timers, the control socket) gets a turn. */
const BATCHES_PER_WAKEUP = 64;

export interface LiveJob {
  readonly probe: Probe;
  /** Resolves with the exit status once the probe has stopped. */
  readonly done: Promise<number>;
}

export async function startLiveJob(cfg: ProbeConfig, log: (line: string) => void): Promise<LiveJob> {
  const device = resolveInterface(cfg.interface!);
  const src: PacketSource = openLive(device, {
    snaplen: cfg.snaplen ?? DEFAULT_LIVE_SNAPLEN,
    promisc: cfg.promisc,
    bufferSize: cfg.bufferSize,
    filter: cfg.filter,
  });
  let probe: Probe;
  let ctl: ControlServer | null = null;
  if (!isLinkTypeSupported(src.linkType)) {
    src.close();
    // As softflowd refuses it ("Unsupported datalink type"): a probe that makes no flows must not look like one.
    throw new Error(`${device}: ${unsupportedLinkType(src.linkType)}`);
  }
  try {
    // Export in this thread: what a live probe must save is CPU, not wall time, and the cores it would lend a
    // second thread are busy with the kernel's receive work and the rest of the box. On two cores the thread's
    // ring hand-off, wake-ups and preemptions cost more than encoding here (bench/live.ts: 1.1-2.3 CPU s per
    // M packets with the thread, 0.9-1.1 without).
    probe = await Probe.create(cfg, log, false);
    if (cfg.ctlSock) ctl = await startControlServer({ path: cfg.ctlSock, mode: cfg.ctlMode, handler: probe, log });
    if (cfg.pidFile) writePidFile(cfg.pidFile);
  } catch (e) {
    src.close();
    await ctl?.close();
    throw e;
  }

  const bootMs = Date.now() - BOOT_LEAD_MS;
  const view = new PacketView();
  let gathering = false;
  let stopping = false;

  const onReadable = (): void => {
    probe.setClock(Date.now(), bootMs);
    try {
      for (let i = 0; i < BATCHES_PER_WAKEUP; i++) {
        const n = src.next();
        if (n <= 0) break;
        pumpBatch(src, n, view, probe);
      }
    } catch (e) {
      log(`capture on ${device} failed: ${(e as Error).message}`);
      void stop('shutdown');
      return;
    }
    probe.flush();
  };
  const startGather = (): void => {
    if (gathering || stopping) return;
    gathering = true;
    src.watch(onReadable);
  };
  const stopGather = (): void => {
    if (!gathering) return;
    gathering = false;
    src.unwatch();
  };
  probe.gather = {
    stop: stopGather,
    start: startGather,
    captureCounters: () => {
      const s = src.stats();
      return s ? { received: s.received, dropped: s.dropped, ifDropped: s.ifDropped } : null;
    },
  };

  // softflowd scans every expint seconds; expint 0 or 1 means every second.
  const everyMs = Math.max(1, cfg.timeouts.expint) * 1000;
  const timer = setInterval(() => {
    const now = Date.now();
    probe.setClock(now, bootMs);
    probe.scan(Math.floor(now / 1000));
  }, everyMs);

  const ticker = probe.writer
    ? setInterval(() => {
        probe.setClock(Date.now(), bootMs);
        probe.tick();
      }, 1000)
    : null;

  let finish!: (code: number) => void;
  const done = new Promise<number>((r) => (finish = r));
  const stop = async (how: 'shutdown' | 'exit'): Promise<void> => {
    if (stopping) return;
    stopping = true;
    stopGather();
    clearInterval(timer);
    if (ticker) clearInterval(ticker);
    if (how === 'shutdown') {
      probe.setClock(Date.now(), bootMs);
      await probe.finish();
    }
    await ctl?.close();
    if (cfg.pidFile) removePidFile(cfg.pidFile);
    src.close();
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeListener(s, onSignal);
    finish(0);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (sig === 'SIGHUP') {
      log('SIGHUP ignored (flowprobe has no configuration to reload)');
      return;
    }
    log(`${sig}: expiring and exporting all flows, then exiting`);
    void stop('shutdown');
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal);
  probe.lifecycle = { shutdown: () => void stop('shutdown'), exit: () => void stop('exit') };

  // Templates go out at once, so a collector can decode the first data it gets.
  probe.setClock(Date.now(), bootMs);
  probe.exporter?.flushTemplates();
  startGather();
  for (const c of probe.transport?.collectors ?? []) log(`capturing on ${device}, exporting to ${c} (${exportName(cfg.version)})`);
  return { probe, done };
}

/**
 * Writes our pid, refusing a pid file that names another running process (a second probe given the same -p would
 * take it over, and the first would delete it on its way out). Node's own text ("ENOENT: no such file or
 * directory, open '...'") does not say which file was meant for what.
 */
function writePidFile(p: string): void {
  const other = pidIn(p);
  if (other !== null && other !== process.pid && processAlive(other)) {
    throw new Error(`pid file ${p} names process ${other}, which is running (another flowprobe?)`);
  }
  try {
    fs.writeFileSync(p, `${process.pid}\n`);
  } catch (e) {
    throw new Error(`cannot write pid file ${p}: ${strerror(e)}`);
  }
}

/** Removes the pid file if it is still ours. */
function removePidFile(p: string): void {
  if (pidIn(p) === process.pid) fs.rmSync(p, { force: true });
}

function pidIn(p: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(p, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
