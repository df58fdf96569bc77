/**
 * Reads flow files (RFC 5655 IPFIX files: ours, or any other writer's) as a RecordSource for flowdump. Each file is
 * one IPFIX stream: messages are framed by their headers and decoded by the collector's session logic, so templates,
 * withdrawals and options work as they do on the wire. Nothing in a file is trusted: a truncated or corrupt file
 * gives one line naming the file and the byte, and the records before the damage are still returned. A file named
 * to be read that is not a flow file at all (a pcap, a text file) is an error, before anything is read.
 */
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RecordSource } from '../query/source.js';
import { IPFIX_HEADER_LENGTH, IPFIX_VERSION } from '../wire/ipfix.js';
import type { FlowRecord } from '../wire/record.js';
import { Session, SharedBudget, type SessionConfig, type SessionSink } from '../collect/session.js';
import { MAX_MESSAGE_LENGTH } from './format.js';
import { pathReason } from '../control/unix.js';

export interface ReaderOptions {
  /** One line per damaged file (default: stderr, prefixed with the program name). */
  warn?: (line: string) => void;
  /** File name prefix taken from directories (default "flows"; flowcapd's quarantine files are "suspect"). */
  prefix?: string;
}

/** A file is decoded as stored: no sampling applied again, the stored exporter kept, no receive-time check. */
const FILE_SESSION: SessionConfig = {
  sampling: 1,
  maxFutureMs: Infinity,
  stampExporter: false,
  maxTemplates: 65536,
  maxPendingSets: 4096,
  maxPendingAgeMs: Infinity,
};

const CHUNK = 1 << 20;

export interface FileRecordSource extends RecordSource {
  readonly bytesRead: number;
  /** Files that had something wrong with them. */
  readonly damaged: number;
  /** The files in the order they are read. */
  readonly paths: readonly string[];
}

/**
 * A path given to the reader that cannot be read at all, or a named file that is not a flow file. `given` is the
 * path as the caller named it (`path` may be a subdirectory of it); `code` is the system error's, if one.
 */
export class UnreadablePath extends Error {
  override name = 'UnreadablePath';
  constructor(
    readonly given: string,
    readonly kind: 'file' | 'directory',
    readonly path: string,
    readonly reason: string,
    readonly code?: string,
  ) {
    super(`cannot read ${kind === 'file' ? '' : 'directory '}${path}: ${reason}`);
  }
}

/**
 * The start of a flow file: an IPFIX message header (RFC 7011 section 3.1: version 10, a length that covers at
 * least the header). Anything else is named, so that a pcap handed to the wrong program says which program to use.
 */
function notFlowFile(head: Buffer): string | null {
  if (head.length === 0) return null; // an empty file holds no flows, and no damage either
  if (head.length >= 4 && head.readUInt16BE(0) === IPFIX_VERSION && head.readUInt16BE(2) >= IPFIX_HEADER_LENGTH) return null;
  const magic = head.length >= 4 ? head.readUInt32BE(0) : -1;
  // pcap (either byte order, micro- or nanosecond) and pcapng: packets, which flowprobe turns into flows.
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(magic)) {
    return 'not a flow file but a packet capture (pcap/pcapng): turn it into flows with flowprobe -r';
  }
  // nfdump's files start with its magic 0xA50C, stored little-endian.
  if (head.length >= 2 && head.readUInt16LE(0) === 0xa50c) return 'not an IPFIX flow file but an nfdump file: read it with nfdump -r';
  const shown = head.subarray(0, 4);
  const text = /^[\x20-\x7e]+$/.test(shown.toString('latin1')) ? ` ("${shown.toString('latin1')}")` : '';
  return `not a flow file: it starts with 0x${shown.toString('hex')}${text}, not with an IPFIX message header`;
}

/** The first bytes of a file, to tell a flow file from anything else before reading it. */
function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    return head.subarray(0, readSync(fd, head, 0, 4, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * `files` are read in the order given, then each directory's flow files (recursively, sorted by file name, so by
 * time for flowcapd's names; hidden temporary files of a writer at work are skipped). Throws an UnreadablePath if
 * a path cannot be read at all or a named file is not a flow file; a file in a directory that is not one is
 * reported as damaged when its turn comes, and skipped.
 */
export function openRecordSource(paths: { files: string[]; dirs: string[] }, opts: ReaderOptions = {}): FileRecordSource {
  const prefix = (opts.prefix ?? 'flows') + '.';
  const warn = opts.warn ?? defaultWarn;
  const list: string[] = [];
  for (const f of paths.files) {
    let wrong;
    try {
      const st = statSync(f);
      if (st.isDirectory()) throw new UnreadablePath(f, 'file', f, 'a directory: read it with -R');
      // A pipe (-r /dev/stdin) cannot be peeked at without losing what is read: its first message is checked as read.
      wrong = st.isFile() ? notFlowFile(fileHead(f)) : null;
    } catch (e) {
      if (e instanceof UnreadablePath) throw e;
      throw new UnreadablePath(f, 'file', f, pathReason(e, 'file'), (e as NodeJS.ErrnoException).code);
    }
    if (wrong !== null) throw new UnreadablePath(f, 'file', f, wrong);
    list.push(f);
  }
  for (const d of paths.dirs) {
    const found: string[] = [];
    walk(d, d, prefix, found);
    // By file name (the slot's time), then path: time order whatever the subdirectory layout.
    found.sort((a, b) => cmp(basename(a), basename(b)) || cmp(a, b));
    list.push(...found);
  }
  return new FileSource(list, new Set(paths.files), warn);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function walk(given: string, dir: string, prefix: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOTDIR' && dir === given ? ': read it with -r' : '';
    throw new UnreadablePath(given, 'directory', dir, pathReason(e, 'directory') + hint, code);
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(given, p, prefix, out);
    else if (e.isFile() && e.name.startsWith(prefix)) out.push(p);
  }
}

function defaultWarn(line: string): void {
  const prog = process.argv[1]?.split('/').pop()?.replace(/\.(js|ts)$/, '') ?? 'flowdump';
  process.stderr.write(`${prog}: ${line}\n`);
}

/** Stops the walk over a file once the consumer has had enough. */
class Stop extends Error {}

class FileSource implements FileRecordSource {
  bytesRead = 0;
  damaged = 0;

  constructor(
    readonly paths: readonly string[],
    /** The files named to be read, not found in a directory: for these, not being a flow file is an error. */
    private readonly named: ReadonlySet<string>,
    private readonly warn: (line: string) => void,
  ) {}

  async forEach(cb: (rec: FlowRecord) => void | boolean): Promise<void> {
    for (const p of this.paths) {
      if (!(await this.readFile(p, cb))) return;
    }
  }

  /** Returns false when the consumer asked to stop. */
  private async readFile(path: string, cb: (rec: FlowRecord) => void | boolean): Promise<boolean> {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const reason = pathReason(e, 'file');
      if (this.named.has(path)) throw new UnreadablePath(path, 'file', path, reason, (e as NodeJS.ErrnoException).code);
      // Gone since the directory was read (removed by an expiry job, say): the others are still worth reading.
      this.damaged++;
      this.warn(`${path}: cannot open: ${reason}; skipped`);
      return true;
    }
    let records = 0;
    let stopped = false;
    const emit = (r: FlowRecord): void => {
      if (stopped) return;
      records++;
      if (cb(r) === false) {
        stopped = true;
        throw new Stop();
      }
    };
    const sink: SessionSink = { onFlow: emit, onSuspect: emit };
    const budget = new SharedBudget(Infinity, 64 * 1024 * 1024);
    const sessions = new Map<number, Session>();
    const buf = Buffer.alloc(CHUNK + MAX_MESSAGE_LENGTH);
    let have = 0;
    let fileOff = 0;
    let eof = false;
    let problem: string | null = null;
    let notFlows = false;
    try {
      for (;;) {
        if (!eof && have < MAX_MESSAGE_LENGTH) {
          const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
          if (bytesRead === 0) eof = true;
          have += bytesRead;
          this.bytesRead += bytesRead;
          continue;
        }
        let off = 0;
        while (have - off >= IPFIX_HEADER_LENGTH) {
          const version = buf.readUInt16BE(off);
          const len = buf.readUInt16BE(off + 2);
          if (version !== IPFIX_VERSION || len < IPFIX_HEADER_LENGTH) {
            notFlows = fileOff + off === 0;
            problem = notFlows
                ? (notFlowFile(buf.subarray(0, 4)) ?? 'not a flow file')
                : `corrupt at byte ${fileOff + off}: no IPFIX message header there (version ${version}, length ${len})`;
            break;
          }
          if (len > have - off) {
            if (eof) {
              problem = `truncated: the message at byte ${fileOff + off} is ${len} bytes, only ${have - off} remain`;
            }
            break;
          }
          const domain = buf.readUInt32BE(off + 12);
          let s = sessions.get(domain);
          if (s === undefined) {
            s = new Session(`${path} domain ${domain}`, IPFIX_VERSION, { words: new Uint32Array(4), version: 0 }, FILE_SESSION, budget, sink);
            sessions.set(domain, s);
          }
          s.process(buf.subarray(off, off + len), 0);
          off += len;
        }
        if (problem !== null) break;
        if (eof && have - off < IPFIX_HEADER_LENGTH) {
          if (have - off > 0) problem = `truncated: ${have - off} bytes after the last whole message at byte ${fileOff + off}`;
          break;
        }
        buf.copy(buf, 0, off, have);
        have -= off;
        fileOff += off;
      }
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    } finally {
      await fh.close();
    }
    if (stopped) return false;
    // Seen only now for a pipe (a regular file was checked when the source was opened).
    if (notFlows && this.named.has(path)) throw new UnreadablePath(path, 'file', path, problem!);
    const notes: string[] = [];
    if (problem !== null) {
      notes.push(`${problem}; ${records === 0 ? 'no flows read from it' : `the ${records} records before it were read`}`);
    }
    for (const s of sessions.values()) {
      const c = s.counters;
      if (c.malformed > 0) {
        const kinds = [...c.errors].map(([k, n]) => `${k}=${n}`).join(' ');
        notes.push(`${c.malformed} malformed message(s) (${kinds}); their readable sets were read`);
      }
      const unread = c.unknownTemplateSets - c.replayedSets;
      if (unread > 0) notes.push(`${unread} data set(s) without a template were skipped`);
      if (c.sequenceErrors > 0) notes.push(`sequence numbers show ${c.sequenceLost} record(s) missing`);
    }
    if (notes.length > 0) {
      this.damaged++;
      this.warn(`${path}: ${notes.join('; ')}`);
    }
    return true;
  }
}
