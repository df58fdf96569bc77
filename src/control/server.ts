/**
 * The control socket: a Unix stream socket speaking softflowctl's protocol (the client writes one line,
 * "command\n"; the daemon writes the reply and closes), so Debian's softflowctl drives flowprobe unchanged.
 *
 * Where softflowd serves one client at a time inside its capture loop (a client that connects and says nothing
 * stalls it for good, an empty connection leaks an fd, a second daemon silently takes over the socket), this
 * server answers any number of clients at once, bounds what each may send and for how long, and refuses to take
 * a socket that another daemon is still answering on.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  HELP_TEXT,
  formatFlowDumpHeader,
  formatFlowEntry,
  formatStatistics,
  formatTimeouts,
  replyLine,
  unknownCommandLine,
} from './format.js';
import type { ControlHandler } from './handler.js';
import { toStatsReport } from './report.js';
import { MAX_SOCKET_PATH_BYTES, strerror } from './unix.js';

export interface ControlServerOptions {
  path: string;
  handler: ControlHandler;
  /** Permissions of the socket file; connecting needs write permission. Default 0600: only the probe's user. */
  mode?: number;
  /** Longest command line accepted, in bytes, without the newline. Default 256 (softflowd reads 63). */
  maxLineBytes?: number;
  /** A client must have sent its whole command line within this time. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Clients served at once; more are told to retry and closed. Default 64. */
  maxClients?: number;
  /** Name in replies, "flowprobe[pid]: ...". */
  daemon?: string;
  pid?: number;
  /** Receives one line per notable event (a rejected client, a failed command). Default: dropped. */
  log?: (message: string) => void;
}

export interface ControlServer {
  readonly path: string;
  /** Clients connected now. */
  readonly clients: number;
  /** Stops listening, drops connected clients and removes the socket file. */
  close(): Promise<void>;
}

/** Why the control socket could not be set up; the message is one line for the user. */
export class ControlSocketError extends Error {
  override name = 'ControlSocketError';
}

const CHUNK_BYTES = 64 * 1024;

type Answer = { chunks: string[]; after?: () => void };

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const sockPath = opts.path;
  const mode = opts.mode ?? 0o600;
  const maxLine = opts.maxLineBytes ?? 256;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 5000;
  const maxClients = opts.maxClients ?? 64;
  const daemon = opts.daemon ?? 'flowprobe';
  const pid = opts.pid ?? process.pid;
  const log = opts.log ?? (() => {});
  const h = opts.handler;
  const line = (text: string): Answer => ({ chunks: [replyLine(daemon, pid, text)] });

  await claimPath(sockPath);

  /** Runs one command against the handler; the reply is complete before anything is written. */
  async function answer(cmd: string): Promise<Answer> {
    switch (cmd) {
      case 'help':
        return { chunks: [HELP_TEXT] };
      case 'statistics':
        return { chunks: [formatStatistics(toStatsReport(h.statistics(), daemon, pid))] };
      case 'statistics-json':
        return { chunks: [JSON.stringify(toStatsReport(h.statistics(), daemon, pid)) + '\n'] };
      case 'dump-flows':
        return { chunks: dumpFlows() };
      case 'timeouts':
        return { chunks: [formatTimeouts(daemon, pid, h.timeouts())] };
      case 'expire-all':
        return line(`Expired ${await h.expireAll()} flows.`);
      case 'delete-all':
        return line(`Deleted ${h.deleteAll()} flows.`);
      case 'send-template':
        h.sendTemplate();
        return line('Template will be sent at next flow export');
      case 'debug+':
        h.debug(1);
        return line('Debug level increased.');
      case 'debug-':
        h.debug(-1);
        return line('Debug level decreased.');
      case 'stop-gather':
        h.stopGather();
        return line('Data collection stopped.');
      case 'start-gather':
        h.startGather();
        return line('Data collection resumed.');
      case 'shutdown':
        return { ...line('Shutting down gracefully...'), after: () => h.shutdown() };
      case 'exit':
        return { ...line('Exiting now...'), after: () => h.exit() };
      default:
        return { chunks: [unknownCommandLine(cmd)] };
    }
  }

  /** Formats the whole table synchronously (one consistent picture), in chunks so a huge table streams. */
  function dumpFlows(): string[] {
    const d = h.dumpFlows();
    const chunks: string[] = [];
    let buf = formatFlowDumpHeader(daemon, pid);
    for (const f of d.flows) {
      buf += formatFlowEntry(f, d.now);
      if (buf.length >= CHUNK_BYTES) {
        chunks.push(buf);
        buf = '';
      }
    }
    chunks.push(buf);
    return chunks;
  }

  const live = new Set<net.Socket>();

  function serve(sock: net.Socket): void {
    sock.on('error', () => {
      // The client went away mid-reply (EPIPE, ECONNRESET): nothing of ours is lost; 'close' cleans up.
    });
    if (live.size >= maxClients) {
      log(`control: refused a client: ${maxClients} already connected`);
      endWith(sock, `Too many control connections (${maxClients}); try again\n`);
      return;
    }
    live.add(sock);

    let state: 'reading' | 'answering' | 'writing' | 'done' = 'reading';
    const parts: Buffer[] = [];
    let got = 0;
    const deadline = setTimeout(() => {
      if (state !== 'reading') return;
      state = 'done';
      log('control: dropped a client that sent no command in time');
      endWith(sock, `No control command received within ${formatMs(commandTimeoutMs)}\n`);
    }, commandTimeoutMs);
    deadline.unref();
    sock.on('close', () => {
      clearTimeout(deadline);
      live.delete(sock);
    });

    const reject = (why: string): void => {
      state = 'done';
      log(`control: rejected a command: ${why}`);
      endWith(sock, `Control command rejected: ${why}\n`);
    };

    const handleLine = (raw: Buffer): void => {
      state = 'answering';
      clearTimeout(deadline);
      sock.pause();
      let end = raw.length;
      if (end > 0 && raw[end - 1] === 0x0d) end--;
      if (end > maxLine) return reject(`longer than ${maxLine} bytes`);
      for (let i = 0; i < end; i++) {
        const c = raw[i];
        if ((c < 0x20 || c > 0x7e) && c !== 0x09) return reject(`non-printable byte 0x${c.toString(16).padStart(2, '0')} at offset ${i}`);
      }
      const cmd = raw.toString('latin1', 0, end).trim();
      answer(cmd)
        .then(
          (a) => write(a),
          (e: unknown) => {
            const msg = e instanceof Error ? e.message : String(e);
            log(`control: ${cmd} failed: ${msg}`);
            return write({ chunks: [replyLine(daemon, pid, `${cmd} failed: ${msg.split('\n')[0]}`)] });
          },
        )
        .catch((e: unknown) => {
          log(`control: ${e instanceof Error ? e.message : String(e)}`);
          sock.destroy();
        });
    };

    const write = async (a: Answer): Promise<void> => {
      if (sock.destroyed) {
        runAfter(a);
        return;
      }
      state = 'writing';
      // From here a client that stops reading is dropped once it has been idle this long.
      sock.setTimeout(commandTimeoutMs, () => sock.destroy());
      let ran = false;
      const after = (): void => {
        if (!ran) {
          ran = true;
          runAfter(a);
        }
      };
      sock.once('close', after);
      for (const chunk of a.chunks) {
        if (sock.destroyed) return;
        if (!sock.write(chunk)) await drained(sock);
      }
      state = 'done';
      if (!sock.destroyed) endWith(sock, '');
    };

    const runAfter = (a: Answer): void => {
      if (!a.after) return;
      try {
        a.after();
      } catch (e) {
        log(`control: ${e instanceof Error ? e.message : String(e)}`);
      }
    };

    sock.on('data', (chunk: Buffer) => {
      if (state !== 'reading') return;
      const nl = chunk.indexOf(0x0a);
      const take = nl >= 0 ? chunk.subarray(0, nl) : chunk;
      parts.push(take);
      got += take.length;
      // One byte of slack for a trailing "\r"; anything longer is refused without waiting for its end.
      if (got > maxLine + 1) return reject(`longer than ${maxLine} bytes`);
      if (nl >= 0) handleLine(Buffer.concat(parts, got));
    });
    sock.on('end', () => {
      if (state !== 'reading') return;
      // softflowd reads a last line without its newline too; a connection that sent nothing is just closed.
      if (got === 0) {
        state = 'done';
        sock.destroy();
        return;
      }
      handleLine(Buffer.concat(parts, got));
    });
  }

  const server = net.createServer({ allowHalfOpen: true }, serve);
  server.on('error', (e: NodeJS.ErrnoException) => {
    // accept() failures (EMFILE, ENFILE) arrive here; libuv keeps listening, so the daemon carries on.
    log(`control: ${e.code ?? ''} ${e.message}`.trim());
  });
  await listen(server, sockPath, mode);
  const ino = fs.statSync(sockPath).ino;

  let closing: Promise<void> | null = null;
  return {
    path: sockPath,
    get clients() {
      return live.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          // libuv unlinks the path itself; remove it here only if it is still the socket we made.
          try {
            if (fs.statSync(sockPath).ino === ino) fs.unlinkSync(sockPath);
          } catch {
            // Already gone.
          }
          resolve();
        });
        for (const s of live) s.destroy();
      });
      return closing;
    },
  };
}

/** Ends the reply and closes the connection once the kernel has the bytes (not when the client reads them). */
function endWith(sock: net.Socket, text: string): void {
  sock.once('finish', () => sock.destroy());
  sock.end(text);
}

function drained(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Makes the path free for a new socket: a stale socket left by a crashed daemon (nobody accepts: ECONNREFUSED)
 * is removed; a socket that answers belongs to a running daemon and is left alone; anything that is not a socket
 * is never removed.
 */
async function claimPath(p: string): Promise<void> {
  const bytes = Buffer.byteLength(p);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new ControlSocketError(
      `control socket path is ${bytes} bytes long, Unix sockets allow ${MAX_SOCKET_PATH_BYTES}: ${p}`,
    );
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const dir = path.dirname(p);
      if (!fs.existsSync(dir)) throw new ControlSocketError(`cannot create control socket ${p}: directory ${dir} does not exist`);
      return;
    }
    throw new ControlSocketError(`cannot use control socket ${p}: ${strerror(e)}`);
  }
  if (!st.isSocket()) {
    throw new ControlSocketError(`${p} exists and is not a socket; not replacing it (remove it or give another path)`);
  }
  const state = await probeSocket(p);
  if (state === 'live') {
    throw new ControlSocketError(`another flowprobe is already listening on ${p}; stop it first or give another path`);
  }
  if (state === 'stale') {
    try {
      fs.unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ControlSocketError(`cannot remove stale control socket ${p}: ${strerror(e)}`);
      }
    }
  }
}

/** Whether a daemon answers on the socket: connect succeeds (or its queue is full) = live; refused = stale. */
function probeSocket(p: string): Promise<'live' | 'stale' | 'gone'> {
  return new Promise((resolve, reject) => {
    const c = net.connect(p);
    const timer = setTimeout(() => {
      c.destroy();
      resolve('live');
    }, 2000);
    c.on('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve('live');
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED') resolve('stale');
      else if (e.code === 'ENOENT') resolve('gone');
      else if (e.code === 'EAGAIN') resolve('live');
      else reject(new ControlSocketError(`cannot check control socket ${p}: ${strerror(e)}`));
    });
  });
}

/**
 * Binds with the umask narrowed to `mode`, so the socket never exists with wider permissions, then sets the mode
 * exactly. (The umask is per process; Worker threads may not change it, so there only the chmod applies.)
 */
function listen(server: net.Server, p: string, mode: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let oldMask: number | undefined;
    const restore = (): void => {
      if (oldMask !== undefined) process.umask(oldMask);
      oldMask = undefined;
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      restore();
      if (e.code === 'EADDRINUSE') reject(new ControlSocketError(`another flowprobe is already listening on ${p}; stop it first or give another path`));
      else reject(new ControlSocketError(`cannot create control socket ${p}: ${strerror(e)}`));
    };
    server.once('error', onError);
    if (isMainThread) oldMask = process.umask(0o777 & ~mode);
    try {
      // For a path, Node binds synchronously inside listen(), so the narrowed umask covers the bind.
      server.listen(p, () => {
        server.off('error', onError);
        try {
          fs.chmodSync(p, mode);
        } catch (e) {
          server.close();
          reject(new ControlSocketError(`cannot set mode ${mode.toString(8)} on control socket ${p}: ${strerror(e)}`));
          return;
        }
        resolve();
      });
    } finally {
      restore();
    }
  });
}
