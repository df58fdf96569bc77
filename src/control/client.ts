/**
 * The client side of softflowctl's protocol: connect, write "command\n", read the reply until the daemon closes.
 * Nothing more, so the same client drives flowprobe and softflowd.
 */
import fs from 'node:fs';
import net from 'node:net';
import { MAX_SOCKET_PATH_BYTES, strerror } from './unix.js';

export class ControlClientError extends Error {
  override name = 'ControlClientError';
}

export interface SendOptions {
  /** Give up when the daemon has been silent this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Stream the reply here as it arrives (dump-flows of a big table) instead of collecting it. */
  sink?: NodeJS.WritableStream;
}

/** What to tell the user after softflowctl's own `ctl connect("PATH") error: ...` words. */
function connectHint(code: string | undefined, sockPath: string): string {
  switch (code) {
    case 'ENOENT':
      return `is the daemon running with -c ${sockPath}?`;
    case 'ECONNREFUSED':
      // Linux answers a connect() to a plain file with ECONNREFUSED too.
      return isSocket(sockPath) ? 'nothing is listening on it: the daemon that made it has exited' : 'that path is not a socket';
    case 'EACCES':
    case 'EPERM':
      return "the socket admits only its owner (mode 0600 by default): run as the daemon's user or root";
    case 'EAGAIN':
      return 'the daemon is not accepting connections (busy or hung)';
    case 'ENOTSOCK':
    case 'ENOTDIR':
      return 'that path is not a control socket';
    default:
      return '';
  }
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

/**
 * Sends one command and resolves with the reply (without a sink), or with the reply's first 4 KiB (with a sink,
 * which receives all of it). Rejects with a one-line ControlClientError.
 */
export function sendCommand(sockPath: string, command: string, opts: SendOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sink = opts.sink;
  if (Buffer.byteLength(sockPath) > MAX_SOCKET_PATH_BYTES) {
    return Promise.reject(
      new ControlClientError(`control socket path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes Unix sockets allow: ${sockPath}`),
    );
  }
  if (/[\0-\x1f\x7f]/.test(command)) {
    return Promise.reject(new ControlClientError(`a command is one line of printable text: ${JSON.stringify(command)}`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let head = '';
    let connected = false;
    let settled = false;
    const sock = net.connect(sockPath);
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(sink ? head : Buffer.concat(parts).toString('latin1'));
    };
    sock.setTimeout(timeoutMs, () =>
      finish(
        new ControlClientError(
          connected
            ? `no reply from ${sockPath} within ${timeoutMs / 1000} s`
            : `ctl connect("${sockPath}") error: no answer within ${timeoutMs / 1000} s`,
        ),
      ),
    );
    sock.on('connect', () => {
      connected = true;
      sock.write(`${command}\n`);
    });
    sock.on('data', (chunk: Buffer) => {
      if (!sink) {
        parts.push(chunk);
        return;
      }
      if (head.length < 4096) head += chunk.toString('latin1', 0, Math.min(chunk.length, 4096 - head.length));
      // Keep memory flat on a big dump: stop reading while the sink is full.
      if (!sink.write(chunk)) {
        sock.pause();
        sink.once('drain', () => sock.resume());
      }
    });
    sock.on('end', () => finish(null));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const hint = connectHint(e.code, sockPath);
        finish(new ControlClientError(`ctl connect("${sockPath}") error: ${strerror(e)}${hint ? ` (${hint})` : ''}`));
      } else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') {
        // The daemon closed while we still had bytes unread or unsent; what it sent before that is the reply.
        finish(null);
      } else {
        finish(new ControlClientError(`reading the reply from ${sockPath}: ${strerror(e)}`));
      }
    });
  });
}

/** Replies in which the daemon refused the command rather than carrying it out. */
export function isRefusal(reply: string): boolean {
  return /^(Unknown control command |Control command rejected: |Too many control connections|No control command received)/.test(reply) ||
    /^\S+\[\d+\]: \S+ failed: /.test(reply);
}
