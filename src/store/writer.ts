/**
 * Writes flow records into rotating files (the format is in format.ts): one file per aligned interval, written
 * under a hidden temporary name, fsynced and renamed into place when the interval ends, so a reader never sees half
 * a file and a crash loses nothing that recovery cannot finish.
 *
 * Writes are synchronous: a message is at most 64 KiB, and doing them in line keeps the order of records, files and
 * renames obvious, including on SIGTERM. Finished messages go to the file BATCH at a time, in one writev from the
 * buffers they were built in, and at every tick and before a file is closed: the kernel's page-cache work per write
 * was most of what storing cost (16 writes of 64 KiB took half again the system time of one of 1 MiB). A write that fails (disk full, read-only, directory gone) does not lose
 * the data: finished messages wait in a bounded memory queue and are written, in order, once the disk takes them
 * again. Only when that queue is full are new records dropped, and each one is counted.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  ftruncateSync,
  fstatSync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  existsSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../control/unix.js';
import type { FlowRecord, FlowSink } from '../wire/record.js';
import { IPFIX_HEADER_LENGTH, IPFIX_VERSION } from '../wire/ipfix.js';
import { FILE_TEMPLATES, FileMessageBuilder, parseTempName, plainTemplateIndex, slotName, slotStart, tempName } from './format.js';
import type { Template } from '../wire/template.js';

/** What `flowprobe -w` and flowcapd write into; see {@link FlowFileWriter}. */
export interface FlowFileSink extends FlowSink {
  /** Called about once a second: rotates at the slot boundary, pushes recent records to the file, retries writes. */
  tick(): void;
  /** Pushes what has arrived to the file now (the caller saw its input pause), without waiting for the tick. */
  settle(): void;
  /** Closes the open file now (SIGHUP); the next record starts a file for the current slot. */
  rotate(): void;
  /** Writes everything and renames the open file into place. False if some records could not be written. */
  close(): boolean;
  readonly stats: WriterStats;
}

export interface FlowFileWriterOptions {
  /** Directory of the files; it must exist. */
  dir: string;
  /** Rotation interval in seconds (default 300, as nfcapd). */
  interval?: number;
  /** File name prefix (default "flows"). */
  prefix?: string;
  /** The clock that picks the slot, ms since the epoch (default Date.now; flowprobe -r -w passes the capture's). */
  now?: () => number;
  /** Write a file for an interval in which no record arrived (nfcapd does; default false). */
  keepEmpty?: boolean;
  /** Finished messages held in memory while the disk refuses them (default 64 MiB). */
  maxBufferBytes?: number;
  /** One line per event: file written, write error, recovered file, records dropped. */
  log?: (line: string) => void;
  /** Called after each file is renamed into place. */
  onFileClosed?: (info: ClosedFile) => void;
}

export interface ClosedFile {
  /** Final path. */
  path: string;
  slotMs: number;
  records: number;
  packets: number;
  octets: number;
  bytes: number;
}

export interface WriterStats {
  /** Records accepted into a file (written, or held in memory to be written). */
  records: number;
  /** Files renamed into place. */
  files: number;
  /** Bytes written to files. */
  bytes: number;
  /** Failed write, open, fsync or rename calls. */
  writeErrors: number;
  /** Records refused because the memory queue was full while the disk was. */
  dropped: number;
  /** Bytes waiting in memory for the disk. */
  heldBytes: number;
  /** Temporary files of an earlier run finished at startup. */
  recovered: number;
}

/** One interval's file, from its first record until it is renamed. */
interface OpenFile {
  slotMs: number;
  finalName: string;
  tmpPath: string;
  fd: number;
  /** The temporary file exists (reopen it for appending after a failure, never create it twice). */
  created: boolean;
  /** Finished messages not yet written; the first may be partly written (headOffset bytes). */
  queue: Uint8Array[];
  headOffset: number;
  /** Data records in the file (the next message's sequence number). */
  records: number;
  packets: number;
  octets: number;
  bytes: number;
  /** The interval is over: finish and rename once the queue is written. */
  closing: boolean;
}

const DEFAULT_INTERVAL = 300;
/** Finished messages written together (up to 1 MiB). */
const BATCH = 16;
const DEFAULT_BUFFER = 64 * 1024 * 1024;

export class FlowFileWriter implements FlowFileSink {
  readonly dir: string;
  readonly interval: number;
  readonly prefix: string;
  readonly stats: WriterStats = { records: 0, files: 0, bytes: 0, writeErrors: 0, dropped: 0, heldBytes: 0, recovered: 0 };
  private readonly now: () => number;
  private readonly keepEmpty: boolean;
  private readonly maxBuffer: number;
  private readonly log: (line: string) => void;
  private readonly onFileClosed?: (info: ClosedFile) => void;
  /** The message being built; finished ones waiting in `batch` keep their builders until written. */
  private builder = new FileMessageBuilder();
  private readonly batch: Uint8Array[] = [];
  private batchBytes = 0;
  private readonly batchBuilders: FileMessageBuilder[] = [];
  /** The file the batch is for: the first of `files`, its queue empty and its writes going well when each was added. */
  private batchFile: OpenFile | null = null;
  private readonly spare: FileMessageBuilder[] = [];
  /** Files in slot order; only the last one takes records, the others are closing. */
  private files: OpenFile[] = [];
  /** End of the current slot (ms); records at or after it rotate first. */
  private slotEnd = -Infinity;
  /** Set while writes fail, so the error is logged once per episode. */
  private failing: string | null = null;
  private dropping = false;
  private closed = false;

  constructor(opts: FlowFileWriterOptions) {
    this.dir = opts.dir;
    this.interval = opts.interval ?? DEFAULT_INTERVAL;
    if (!(Number.isInteger(this.interval) && this.interval >= 1)) {
      throw new RangeError(`rotation interval must be a whole number of seconds >= 1, not ${opts.interval}`);
    }
    this.prefix = opts.prefix ?? 'flows';
    if (!/^[A-Za-z0-9_-]+$/.test(this.prefix)) throw new RangeError(`file prefix "${this.prefix}" must be letters, digits, - or _`);
    this.now = opts.now ?? Date.now;
    this.keepEmpty = opts.keepEmpty ?? false;
    this.maxBuffer = opts.maxBufferBytes ?? DEFAULT_BUFFER;
    this.log = opts.log ?? (() => undefined);
    this.onFileClosed = opts.onFileClosed;
    // Fails here, with the system's message, if the directory cannot be listed.
    this.recover();
    if (this.keepEmpty) this.startSlot(this.now());
  }

  // onFlow runs per flow; what happens once per message, slot or episode is in methods of its own, which keeps the
  // code V8 compiles for onFlow (and recompiles when a path runs for the first time) small.
  onFlow(rec: FlowRecord): void {
    if (this.closed) return;
    const now = this.now();
    if (now >= this.slotEnd || this.files.length === 0 || this.files[this.files.length - 1].closing) this.nextSlot(now);
    if (this.stats.heldBytes + this.builder.length >= this.maxBuffer) {
      this.drop();
      return;
    }
    const file = this.files[this.files.length - 1];
    if (!this.builder.open) this.beginMessage(file, now);
    if (!this.builder.add(rec)) this.nextMessage(file, now, rec);
    file.packets += rec.packets;
    file.octets += rec.octets;
    this.stats.records++;
  }

  /**
   * For a receiver writing records itself (compiled.ts's transcoders, into {@link out} at {@link offsetFor}): makes
   * the message ready for records of FILE_TEMPLATES[k], as onFlow would for one more record, and says how many may
   * be written there now. 0: this record must come through onFlow (the writer is closed, or the disk is refusing
   * writes and the memory queue is near its bound, where onFlow decides record by record).
   */
  reserve(k: number): number {
    if (this.closed) return 0;
    const now = this.now();
    if (now >= this.slotEnd || this.files.length === 0 || this.files[this.files.length - 1].closing) this.nextSlot(now);
    const b = this.builder;
    // With this much room below the bound, onFlow would not drop any record of the message.
    if (this.stats.heldBytes + b.maxLength >= this.maxBuffer) return 0;
    const n = b.open ? b.room(k) : 0;
    return n > 0 ? n : this.newMessage(k, now);
  }

  /**
   * reserve when no message is open (after a tick) or the open one is full. One method for both, called from one
   * place: the first full message gives that call its type feedback before V8 optimizes reserve's callers, so the
   * first tick does not throw their code away.
   */
  private newMessage(k: number, now: number): number {
    const b = this.builder;
    const file = this.files[this.files.length - 1];
    if (!b.open) {
      this.beginMessage(file, now);
      const n = b.room(k);
      if (n > 0) return n;
    }
    // Full: as onFlow's nextMessage, the message goes to the file and the record starts the next one.
    this.finishMessage(file);
    this.drain();
    const next = this.builder;
    next.begin(Math.floor(now / 1000), file.records, false);
    // onFlow adds the record that starts a message whatever the queue holds; the next ones it checks again.
    return this.stats.heldBytes + next.maxLength >= this.maxBuffer ? 1 : next.room(k);
  }

  /** The template a transcoder writes records of this family from an exporter of that family with. */
  templateFor(v6: boolean, exporter6: boolean): { index: number; template: Template } {
    const index = plainTemplateIndex(v6, exporter6);
    return { index, template: FILE_TEMPLATES[index] };
  }

  /** The message {@link reserve} made ready. */
  get out(): Uint8Array {
    return this.builder.buf;
  }

  get outView(): DataView {
    return this.builder.dv;
  }

  offsetFor(k: number): number {
    return this.builder.offsetFor(k);
  }

  /** `n` records (at most what reserve said) were written at offsetFor(k), holding these packets and octets. */
  commit(k: number, n: number, packets: number, octets: number): void {
    this.builder.commit(k, n);
    const file = this.files[this.files.length - 1];
    file.packets += packets;
    file.octets += octets;
    this.stats.records += n;
  }

  private nextSlot(now: number): void {
    if (now >= this.slotEnd) this.endSlot();
    this.startSlot(now);
    // The file of the slot that just ended goes into place now, not at the next tick.
    this.drain();
  }

  private drop(): void {
    this.stats.dropped++;
    if (!this.dropping) {
      this.dropping = true;
      this.log(`${this.dir}: ${this.maxBuffer} bytes of flows are waiting for the disk; dropping new flows (counted) until it takes them`);
    }
  }

  private beginMessage(file: OpenFile, now: number): void {
    // The file's first message carries the templates (one in the batch has not reached file.bytes yet).
    const first = file.records === 0 && file.bytes === 0 && file.queue.length === 0 && (this.batchFile !== file || this.batch.length === 0);
    this.builder.begin(Math.floor(now / 1000), file.records, first);
  }

  /** The message is full: it goes to the file, and `rec` starts the next one. */
  private nextMessage(file: OpenFile, now: number, rec: FlowRecord): void {
    this.finishMessage(file);
    this.drain();
    this.builder.begin(Math.floor(now / 1000), file.records, false);
    this.builder.add(rec);
  }

  tick(): void {
    if (this.closed) return;
    const now = this.now();
    if (now >= this.slotEnd && this.slotEnd !== -Infinity) {
      this.endSlot();
      if (this.keepEmpty) this.startSlot(now);
      this.flushBatch();
      this.drain();
    } else {
      // What arrived in the last second reaches the file now.
      this.settle();
    }
  }

  settle(): void {
    if (this.closed) return;
    if (this.files.length > 0) {
      const cur = this.files[this.files.length - 1];
      if (!cur.closing && this.builder.open) this.finishMessage(cur);
    }
    this.flushBatch();
    this.drain();
  }

  rotate(): void {
    if (this.closed) return;
    this.endSlot();
    if (this.keepEmpty) this.startSlot(this.now());
    this.drain();
  }

  close(): boolean {
    if (this.closed) return this.files.length === 0;
    this.endSlot();
    this.drain();
    this.closed = true;
    if (this.files.length > 0) {
      const held = this.files.reduce((n, f) => n + f.queue.length, 0);
      this.log(
        `${this.dir}: ${this.stats.heldBytes} bytes (${held} messages) of flows could not be written (${this.failing ?? 'write failed'}); ` +
          `what was written stays in ${this.files.map((f) => f.tmpPath).join(', ')} and is finished at the next start`,
      );
      for (const f of this.files) if (f.fd >= 0) closeQuietly(f.fd);
      return false;
    }
    return true;
  }

  /** Records of the open interval not yet in a file (held in memory or in the message being built). */
  get pendingBytes(): number {
    return this.stats.heldBytes + this.batchBytes + (this.builder.open ? this.builder.length : 0);
  }

  private startSlot(now: number): void {
    const slotMs = slotStart(now, this.interval);
    this.slotEnd = slotMs + this.interval * 1000;
    const finalName = slotName(this.prefix, slotMs, this.interval);
    this.files.push({
      slotMs,
      finalName,
      tmpPath: join(this.dir, tempName(finalName, process.pid)),
      fd: -1,
      created: false,
      queue: [],
      headOffset: 0,
      records: 0,
      packets: 0,
      octets: 0,
      bytes: 0,
      closing: false,
    });
    if (this.keepEmpty) {
      // The template set goes out now, so an interval without records still gets its (self-describing) file.
      const file = this.files[this.files.length - 1];
      this.builder.begin(Math.floor(now / 1000), 0, true);
      this.finishMessage(file);
    }
  }

  /** Ends the current slot's file: it is finished and renamed as soon as its queue is written. */
  private endSlot(): void {
    const cur = this.files[this.files.length - 1];
    if (cur && !cur.closing) {
      if (this.builder.open) this.finishMessage(cur);
      cur.closing = true;
    }
    this.slotEnd = -Infinity;
  }

  private finishMessage(file: OpenFile): void {
    const b = this.builder;
    const records = b.records;
    const msg = b.finish();
    file.records += records;
    // With nothing waiting before it, the message goes to the file from the builder's buffer, with the batch; what
    // the disk does not take is copied and queued (and the drain that follows every call retries it and reports the
    // error).
    if (file.fd >= 0 && file.queue.length === 0 && this.files[0] === file && this.failing === null) {
      this.batch.push(msg);
      this.batchBytes += msg.length;
      this.batchBuilders.push(b);
      this.batchFile = file;
      // Within the memory bound too: should the write fail, all of it waits in the queue.
      if (this.batch.length >= BATCH || this.stats.heldBytes + this.batchBytes + b.maxLength >= this.maxBuffer) this.flushBatch();
      this.builder = this.spare.pop() ?? new FileMessageBuilder();
      return;
    }
    // Behind the batch, in file order.
    this.flushBatch();
    const copy = msg.slice();
    file.queue.push(copy);
    this.stats.heldBytes += copy.length;
  }

  /** Writes the batch (one writev); what the disk does not take is copied into its file's queue, in order. */
  private flushBatch(): void {
    const list = this.batch;
    const f = this.batchFile;
    if (list.length === 0 || f === null) return;
    let i = 0;
    let off = 0;
    try {
      while (i < list.length) {
        let n = writevSync(f.fd, i === 0 && off === 0 ? list : [list[i].subarray(off), ...list.slice(i + 1)]);
        f.bytes += n;
        this.stats.bytes += n;
        while (n > 0) {
          const left = list[i].length - off;
          if (n < left) {
            off += n;
            break;
          }
          n -= left;
          i++;
          off = 0;
        }
      }
    } catch {
      for (; i < list.length; i++, off = 0) {
        const copy = list[i].slice(off);
        f.queue.push(copy);
        this.stats.heldBytes += copy.length;
      }
    }
    list.length = 0;
    this.batchBytes = 0;
    for (const b of this.batchBuilders) this.spare.push(b);
    this.batchBuilders.length = 0;
    this.batchFile = null;
  }

  /** Writes queued messages in file order, and finishes closing files; stops at the first failure. */
  private drain(): void {
    while (this.files.length > 0) {
      const f = this.files[0];
      if (!this.writeQueue(f)) return;
      if (!f.closing) break;
      if (!this.publish(f)) return;
      this.files.shift();
    }
    if (this.failing !== null) {
      this.log(`${this.dir}: writing again; every flow held in memory is now in its file`);
      this.failing = null;
    }
    if (this.dropping && this.stats.heldBytes < this.maxBuffer / 2) this.dropping = false;
  }

  private writeQueue(f: OpenFile): boolean {
    // A file is closed with everything in it.
    if (f.closing && this.batchFile === f) this.flushBatch();
    try {
      if (f.fd < 0) {
        const flags = f.created ? constants.O_WRONLY | constants.O_APPEND : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
        f.fd = openSync(f.tmpPath, flags, 0o644);
        f.created = true;
      }
      while (f.queue.length > 0) {
        const m = f.queue[0];
        while (f.headOffset < m.length) {
          const n = writeSync(f.fd, m, f.headOffset, m.length - f.headOffset);
          f.headOffset += n;
          f.bytes += n;
          this.stats.bytes += n;
          this.stats.heldBytes -= n;
        }
        f.queue.shift();
        f.headOffset = 0;
      }
      return true;
    } catch (e) {
      this.writeFailed(f.tmpPath, e as NodeJS.ErrnoException);
      return false;
    }
  }

  /** fsync, then move into place under a name no other file has: a final name is never overwritten. */
  private publish(f: OpenFile): boolean {
    try {
      fsyncSync(f.fd);
      closeSync(f.fd);
      f.fd = -1;
      const path = publishFile(this.dir, f.tmpPath, f.finalName);
      this.stats.files++;
      this.onFileClosed?.({ path, slotMs: f.slotMs, records: f.records, packets: f.packets, octets: f.octets, bytes: f.bytes });
      return true;
    } catch (e) {
      // Try the whole step again on a later tick: the file is reopened for appending, fsynced and moved then.
      if (f.fd >= 0) closeQuietly(f.fd);
      f.fd = -1;
      this.writeFailed(f.tmpPath, e as NodeJS.ErrnoException);
      return false;
    }
  }

  private writeFailed(path: string, e: NodeJS.ErrnoException): void {
    this.stats.writeErrors++;
    // "ENOSPC: no space left on device, write '/x'" → "ENOSPC (no space left on device)": the path is said already.
    const what = `${e.code ?? 'error'} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '')})`;
    if (this.failing === null) {
      this.log(`cannot write ${path}: ${what}; keeping flows in memory (up to ${this.maxBuffer} bytes) and retrying every tick`);
    }
    this.failing = what;
  }

  /**
   * Finishes the temporary files a previous run left (it crashed, or the disk stayed full to the end): each is cut
   * after its last whole message and renamed into place, so the flows it held are kept. Files of a process that is
   * still running are left alone.
   */
  private recover(): void {
    for (const name of readdirSync(this.dir)) {
      const t = parseTempName(name, this.prefix);
      if (t === null || (t.pid !== process.pid && processAlive(t.pid))) continue;
      const tmpPath = join(this.dir, name);
      try {
        const r = recoverFile(tmpPath);
        if (r.kept === 0) {
          unlinkSync(tmpPath);
          this.log(`removed ${tmpPath} from an earlier run: it held no whole message`);
          continue;
        }
        const path = publishFile(this.dir, tmpPath, t.finalName);
        this.stats.recovered++;
        const cut = r.size > r.kept ? `, ${r.size - r.kept} bytes of a cut-off message dropped` : '';
        this.log(`recovered ${name} from an earlier run (pid ${t.pid}) as ${path}: ${r.kept} bytes kept${cut}`);
      } catch (e) {
        this.log(`cannot recover ${tmpPath}: ${(e as Error).message}`);
      }
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed or invalid: nothing left to release.
  }
}

/** Cuts a file after its last whole IPFIX message (RFC 7011 §3.1 framing) and fsyncs it. */
function recoverFile(path: string): { size: number; kept: number } {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(IPFIX_HEADER_LENGTH);
    let off = 0;
    while (size - off >= IPFIX_HEADER_LENGTH) {
      if (readSync(fd, head, 0, IPFIX_HEADER_LENGTH, off) < IPFIX_HEADER_LENGTH) break;
      const len = head.readUInt16BE(2);
      if (head.readUInt16BE(0) !== IPFIX_VERSION || len < IPFIX_HEADER_LENGTH || off + len > size) break;
      off += len;
    }
    if (off < size) ftruncateSync(fd, off);
    fsyncSync(fd);
    return { size, kept: off };
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves `tmpPath` to `dir/finalName`, or to `finalName.1`, `.2`, ... if that exists (a restart within one
 * interval, a recovered file), and fsyncs the directory so the new name survives a crash. A hard link, unlike
 * rename, refuses to replace an existing name, so no race can overwrite a finished file.
 */
function publishFile(dir: string, tmpPath: string, finalName: string): string {
  for (let i = 0; ; i++) {
    const path = join(dir, i === 0 ? finalName : `${finalName}.${i}`);
    try {
      linkSync(tmpPath, path);
      unlinkSync(tmpPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      // Filesystems without hard links: check, then rename.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
      if (existsSync(path)) continue;
      renameSync(tmpPath, path);
    }
    syncDir(dir);
    return path;
  }
}

function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself has still happened.
  } finally {
    if (fd >= 0) closeQuietly(fd);
  }
}
