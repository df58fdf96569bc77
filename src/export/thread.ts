/**
 * Export on a second thread: the probe's thread hands each flow record to a worker (export-worker.ts) through a
 * shared ring (ring.ts), and the worker runs the FlowExporter and the UdpTransport. Encoding and sending were
 * about a third of the probe's time on a busy replay; here they cost the probe's thread some 16 words written per
 * IPv4 record, and run on the other core.
 *
 * ExportThread.open gives two stand-ins with the interfaces the probe uses: `exporter` (an Exporter: records,
 * clock, flush, templates, counters) and `transport` (a Transport: collectors, failures, pending, drained, close).
 * Counters are the worker's, read from shared memory, so they trail by at most what is still in the ring; after
 * `drained()` or `close()` they are exact. Commands keep their order with the records around them.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../thread/start.js';
import { FlowExporter, type Exporter, type ExporterOptions, type ExporterStats } from './exporter.js';
import { resolveCollector, type CollectorAddress, type ResolvedCollector, type Transport, type TransportOptions, type TransportStats } from './transport.js';
import type { FlowRecord } from '../wire/record.js';
import {
  C_DATAGRAMS, C_FAILURES, C_PENDING, C_RECORDS, C_SENT, C_SKIPPED, CTRL_DRAINED, CTRL_IDLE, CTRL_READ, CTRL_WRITE,
  MAX_RECORD_WORDS, OP_CLOCK, OP_CLOSE, OP_DRAIN, OP_FLUSH, OP_FLUSH_TEMPLATES, OP_TEMPLATES, RING_MASK, RING_WORDS,
  newRingBuffer, ringViews, writeRecord,
} from './ring.js';

/** Records written before the worker is told about them (besides at every flush), so it can start on them. */
const PUBLISH_EVERY = 256;
/** A writer waiting for room checks this often, and gives up on a reader that has not moved for STALL_WAITS. */
const WAIT_MS = 100;
const STALL_WAITS = 300;
/** The longest a counter read waits for the worker to catch up. */
const SYNC_MS = 1000;
const TWO32 = 2 ** 32;

/** What the worker is started with. */
export interface ExportWorkerData {
  sab: SharedArrayBuffer;
  /** Where the worker posts ExportWorkerMessages. */
  port: MessagePort;
  collectors: CollectorAddress[];
  transport: Omit<TransportOptions, 'onError'>;
  exporter: ExporterOptions;
}

/** What the worker posts: a set-up that failed, and the transport's error lines. */
export type ExportWorkerMessage = { error: string } | { log: string };

export class ExportThread {
  readonly exporter: Exporter;
  readonly transport: Transport;

  private readonly ctrl: Int32Array;
  private readonly counters: Float64Array;
  private readonly ring: Uint32Array;
  /** Where the next message goes, and the records written since the worker was last told. */
  private w = 0;
  private unpublished = 0;
  /** Where the last clock message ends, and how far the worker was last told. */
  private clockEnd = -1;
  private publishedAt = 0;
  /** Records or commands written since the last flush. */
  private dirty = false;
  private drainSeq = 0;
  /** The worker's read position as last read from the ring's control word (see reserve). */
  private readSeen = 0;
  private dead: string | null = null;
  private gone = false;
  private readonly exited: Promise<void>;

  private readonly onMessage: (m: ExportWorkerMessage) => void;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    sab: SharedArrayBuffer,
    collectors: string[],
    private readonly onError: ((message: string) => void) | undefined,
  ) {
    const v = ringViews(sab);
    this.ctrl = v.ctrl;
    this.counters = v.counters;
    this.ring = v.ring;
    this.exited = new Promise((r) =>
      worker.once('exit', () => {
        this.gone = true;
        r();
      }),
    );
    const self = this;
    const c = this.counters;
    // Reading a counter first lets the worker catch up with the ring, so the control socket's statistics and the
    // summary count everything handed over before they were asked for, as the in-thread exporter's do.
    const transportStats: TransportStats = {
      get datagrams() {
        return self.sync(), c[C_SENT]!;
      },
      get failures() {
        return self.sync(), c[C_FAILURES]!;
      },
      lastError: '',
    };
    const exporterStats: ExporterStats = {
      get records() {
        return self.sync(), c[C_RECORDS]!;
      },
      get datagrams() {
        return self.sync(), c[C_DATAGRAMS]!;
      },
      get skippedNotIpv4() {
        return self.sync(), c[C_SKIPPED]!;
      },
    };
    this.onMessage = (m: ExportWorkerMessage): void => {
      if ('log' in m) {
        transportStats.lastError = m.log;
        this.onError?.(m.log);
      } else {
        this.die(`export thread failed: ${m.error}`);
      }
    };
    // Its own port, so sync() can take what the worker posted before it caught up, without the event loop.
    port.on('message', this.onMessage);
    port.unref();
    worker.on('error', (e) => this.die(`export thread failed: ${e.message}`));
    this.exporter = {
      stats: exporterStats,
      onFlow: (rec: FlowRecord) => self.record(rec),
      setClock: (nowMs: number, bootMs: number) => self.clock(nowMs, bootMs),
      sendTemplates: () => {
        self.dirty = true;
        self.op(OP_TEMPLATES);
      },
      flush: () => {
        // Nothing written since the last flush: the exporter holds nothing to send, so the worker sleeps on.
        if (!self.dirty) return;
        self.dirty = false;
        self.op(OP_FLUSH);
        self.publish();
      },
      flushTemplates: () => {
        self.op(OP_FLUSH_TEMPLATES);
        self.publish();
      },
    };
    this.transport = {
      collectors,
      stats: transportStats,
      get pending() {
        return self.pending();
      },
      drained: () => self.drained(),
      close: () => self.close(),
    };
  }

  /**
   * Checks the settings here (names resolve, the exporter accepts its options: each failure is the one line the
   * in-thread exporter would give) and starts the worker without waiting for it: records wait in the ring while it
   * loads, so its start-up (some 70 ms) overlaps the probe's first packets.
   */
  static async open(collectors: CollectorAddress[], topts: TransportOptions, eopts: ExporterOptions): Promise<ExportThread> {
    const resolved: ResolvedCollector[] = [];
    for (const c of collectors) resolved.push(await resolveCollector(c));
    new FlowExporter({ send: () => undefined }, eopts);
    const sab = newRingBuffer();
    const { onError, ...transport } = topts;
    const { port1, port2 } = new MessageChannel();
    const data: ExportWorkerData = {
      sab,
      port: port2,
      collectors: resolved.map(({ host, port }) => ({ host, port })),
      transport,
      exporter: eopts,
    };
    const worker = startWorker('export/export-worker', data, [port2]);
    return new ExportThread(worker, port1, sab, resolved.map((r) => r.label), onError);
  }

  // ---- the probe's side of the ring ----

  private record(rec: FlowRecord): void {
    if (!this.reserve(MAX_RECORD_WORDS)) return;
    this.dirty = true;
    this.w = writeRecord(this.ring, this.w, rec);
    if (++this.unpublished >= PUBLISH_EVERY) this.publish();
  }

  private clock(nowMs: number, bootMs: number): void {
    const m = RING_MASK;
    const r = this.ring;
    let w = this.w;
    if (w === this.clockEnd && w !== this.publishedAt) {
      // Nothing since the previous clock, which the worker has not seen yet: replace it (the live job sets the
      // clock on every batch).
      w = (w - 5) >>> 0;
    } else if (!this.reserve(5)) return;
    else w = this.w;
    r[w++ & m] = (OP_CLOCK << 24) | 5;
    r[w++ & m] = nowMs;
    r[w++ & m] = Math.floor(nowMs / TWO32);
    r[w++ & m] = bootMs;
    r[w++ & m] = Math.floor(bootMs / TWO32);
    this.w = this.clockEnd = w >>> 0;
  }

  private op(op: number, arg = 0): void {
    if (!this.reserve(2)) return;
    this.ring[this.w & RING_MASK] = (op << 24) | 2;
    this.ring[(this.w + 1) & RING_MASK] = arg;
    this.w = (this.w + 2) >>> 0;
  }

  /**
   * Tells the worker how far the ring is written. It looks every WORKER_POLL_MS (export-worker.ts): waking it at
   * once cost this thread some 10-30 us per flush, thousands of times a second on a busy link. `wake` is for
   * those who wait for it (drain, close, a full ring); a worker that found nothing for a while sleeps until woken
   * and says so (CTRL_IDLE), so the first records after a quiet spell wake it too.
   */
  private publish(wake = false): void {
    this.unpublished = 0;
    this.publishedAt = this.w;
    Atomics.store(this.ctrl, CTRL_WRITE, this.w | 0);
    if (wake || Atomics.load(this.ctrl, CTRL_IDLE) !== 0) Atomics.notify(this.ctrl, CTRL_WRITE);
  }

  /**
   * Waits (blocking this thread) until the ring has room for n words, which the worker frees as it reads; false
   * when the worker is gone (what would have gone to it is dropped).
   */
  private reserve(n: number): boolean {
    // The reader only moves forward, so room seen once is still there: the shared word, which the worker writes
    // as it reads, is read again only when that room runs out (reading it for every record missed the cache
    // for each, the line having last been written on the other core: 20 ms of a 3M-packet replay's profile).
    if (RING_WORDS - ((this.w - this.readSeen) >>> 0) >= n && !this.dead) return true;
    let last = -1;
    let still = 0;
    for (;;) {
      if (this.dead) return false;
      const read = Atomics.load(this.ctrl, CTRL_READ) >>> 0;
      this.readSeen = read;
      if (RING_WORDS - ((this.w - read) >>> 0) >= n) return true;
      this.publish(true);
      // The worker's exit event cannot arrive while this thread waits here, so a reader that stops for good is
      // noticed by the time it stands still.
      still = read === last ? still + 1 : 0;
      last = read;
      if (still >= STALL_WAITS) this.die(`the export thread stopped reading for ${(STALL_WAITS * WAIT_MS) / 1000} s`);
      else Atomics.wait(this.ctrl, CTRL_READ, read | 0, WAIT_MS);
    }
  }

  /**
   * Waits (blocking, at most SYNC_MS) until the worker has read everything written, which it counts before it
   * says so. Cheap when it has: the control socket asks a few counters at a time, seldom.
   */
  private sync(): void {
    if (this.dead) return;
    const deadline = Date.now() + SYNC_MS;
    let read = Atomics.load(this.ctrl, CTRL_READ) >>> 0;
    if (read === this.w) return;
    this.publish(true);
    while (read !== this.w && Date.now() < deadline && !this.dead) {
      Atomics.wait(this.ctrl, CTRL_READ, read | 0, 10);
      read = Atomics.load(this.ctrl, CTRL_READ) >>> 0;
    }
    // Error lines it posted on the way (an export that failed) belong before whatever asked for the counters.
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.onMessage(m.message as ExportWorkerMessage);
  }

  private pending(): number {
    const unread = (this.w - (Atomics.load(this.ctrl, CTRL_READ) >>> 0)) >>> 0;
    return this.counters[C_PENDING]! + (unread > 0 ? 1 : 0);
  }

  private async drained(): Promise<void> {
    if (this.dead) return;
    const seq = ++this.drainSeq;
    this.op(OP_DRAIN, seq);
    this.publish(true);
    // Polled on a timer: a timer keeps this thread's event loop alive, waiting on shared memory does not.
    while (!this.dead && Atomics.load(this.ctrl, CTRL_DRAINED) < seq) await new Promise((r) => setTimeout(r, 1));
  }

  private async close(): Promise<void> {
    await this.drained();
    if (!this.dead) {
      this.op(OP_CLOSE);
      this.publish(true);
    }
    await this.exited;
    this.dead ??= 'closed';
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = why;
    this.onError?.(why);
    void this.worker.terminate();
  }
}
