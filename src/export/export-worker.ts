/**
 * The export thread (started by thread.ts): opens the transport, then reads records and commands from the ring
 * and runs them through a FlowExporter, keeping the counters the probe reads in shared memory.
 */
import { workerData } from 'node:worker_threads';
import { FlowExporter } from './exporter.js';
import { UdpTransport } from './transport.js';
import { FlowRecord } from '../wire/record.js';
import type { ExportWorkerData, ExportWorkerMessage } from './thread.js';
import { waitAsync } from '../thread/start.js';
import {
  C_DATAGRAMS, C_FAILURES, C_PENDING, C_RECORDS, C_SENT, C_SKIPPED, CTRL_DRAINED, CTRL_IDLE, CTRL_READ, CTRL_WRITE,
  OP_CLOCK,
  OP_CLOSE, OP_DRAIN, OP_FLUSH, OP_FLUSH_TEMPLATES, OP_RECORD, OP_TEMPLATES, RING_MASK, readRecord, ringViews,
} from './ring.js';

const TWO32 = 2 ** 32;
/** How often the thread looks for work when not woken: what the probe's records wait at most before encoding. */
const WORKER_POLL_MS = 5;
/**
 * Looks that find nothing before the thread says it is idle (CTRL_IDLE) and sleeps until the probe wakes it: a
 * probe with nothing to do (a pipe or an interface with no traffic) would otherwise wake this thread 200 times a
 * second, some 3% of a core (`-r -` on an idle pipe). While work comes, the probe never pays for a wake-up.
 */
const IDLE_AFTER_LOOKS = 20;
/** The longest idle sleep: only a bound, since the probe wakes the thread as soon as it publishes. */
const IDLE_SLEEP_MS = 1000;
const data = workerData as ExportWorkerData;
const post = (m: ExportWorkerMessage): void => data.port.postMessage(m);

async function main(data: ExportWorkerData): Promise<void> {
  let transport: UdpTransport;
  let exporter: FlowExporter;
  try {
    // The exporter first: it checks its options (the transport is only its datagram sink).
    const sink = { send: (d: Uint8Array): void => transport.send(d) };
    exporter = new FlowExporter(sink, data.exporter);
    transport = await UdpTransport.open(data.collectors, { ...data.transport, onError: (log) => post({ log }) });
  } catch (e) {
    post({ error: (e as Error).message });
    return;
  }
  const { ctrl, counters, ring } = ringViews(data.sab);
  const rec = new FlowRecord();
  const count = (): void => {
    counters[C_RECORDS] = exporter.stats.records;
    counters[C_DATAGRAMS] = exporter.stats.datagrams;
    counters[C_SKIPPED] = exporter.stats.skippedNotIpv4;
    counters[C_SENT] = transport.stats.datagrams;
    counters[C_FAILURES] = transport.stats.failures;
    counters[C_PENDING] = transport.pending;
  };
  // Waiting on shared memory does not keep a thread's event loop alive: this does, until the probe says close.
  const alive = setInterval(() => undefined, 1 << 30);

  // One round: the messages up to w, until a drain or close asks for a pause. A function of its own with the one
  // loop, so V8 compiles it whole rather than on the fly inside this async one.
  let r = 0;
  let n = 0;
  let drain = 0;
  let close = false;
  const round = (w: number): void => {
    while (r !== w && !drain && !close) {
      const h = ring[r & RING_MASK]!;
      const p = r + 1;
      switch (h >>> 24) {
        case OP_RECORD:
          readRecord(ring, p, rec);
          exporter.onFlow(rec);
          break;
        case OP_CLOCK:
          exporter.setClock(
            ring[p & RING_MASK]! + ring[(p + 1) & RING_MASK]! * TWO32,
            ring[(p + 2) & RING_MASK]! + ring[(p + 3) & RING_MASK]! * TWO32,
          );
          break;
        case OP_FLUSH:
          exporter.flush();
          break;
        case OP_TEMPLATES:
          exporter.sendTemplates();
          break;
        case OP_FLUSH_TEMPLATES:
          exporter.flushTemplates();
          break;
        case OP_DRAIN:
          drain = ring[p & RING_MASK]!;
          break;
        case OP_CLOSE:
          close = true;
          break;
        default:
          throw new Error(`export ring: unknown message ${h >>> 24} at ${r}`);
      }
      r = (r + (h & 0xffffff)) >>> 0;
      // Room for the probe early in a long round (the end of a large file expires everything at once).
      if ((++n & 1023) === 0) {
        count();
        Atomics.store(ctrl, CTRL_READ, r | 0);
        Atomics.notify(ctrl, CTRL_READ);
      }
    }
  };

  let empty = 0;
  for (;;) {
    const w = Atomics.load(ctrl, CTRL_WRITE) >>> 0;
    empty = r === w ? empty + 1 : 0;
    round(w);
    // Counted before saying how far: whoever sees the position sees counters that include it (thread.ts, sync).
    count();
    Atomics.store(ctrl, CTRL_READ, r | 0);
    Atomics.notify(ctrl, CTRL_READ);
    if (drain) {
      await transport.drained();
      count();
      Atomics.store(ctrl, CTRL_DRAINED, drain);
      Atomics.notify(ctrl, CTRL_DRAINED);
      drain = 0;
      continue;
    }
    if (close) {
      await transport.close();
      count();
      clearInterval(alive);
      return;
    }
    if (r !== w) continue;
    if (empty < IDLE_AFTER_LOOKS) {
      // The probe does not wake us for ordinary work (thread.ts, publish): look again in a moment.
      const wait = waitAsync(ctrl, CTRL_WRITE, w | 0, WORKER_POLL_MS);
      if (wait.async) await wait.value;
      continue;
    }
    // Said before the wait, which returns at once if the position moved meanwhile: a probe that publishes after
    // the wait began sees the flag and wakes us (sequentially consistent atomics, thread.ts publish).
    Atomics.store(ctrl, CTRL_IDLE, 1);
    const wait = waitAsync(ctrl, CTRL_WRITE, w | 0, IDLE_SLEEP_MS);
    if (wait.async) await wait.value;
    Atomics.store(ctrl, CTRL_IDLE, 0);
    empty = 0;
  }
}

void main(data);
