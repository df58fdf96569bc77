/** Raw Unix-socket clients for the control tests: they speak bytes, not our client library, so they can misbehave. */
import net from 'node:net';
import fs from 'node:fs';

export interface Exchange {
  reply: string;
  /** The error that ended the connection, if it was not a clean close (ECONNRESET, EPIPE). */
  error?: string;
}

/** Connects, sends `payload` (optionally half-closing after it), and collects everything until the server closes. */
export function ask(sockPath: string, payload: string | Buffer, opts: { halfClose?: boolean; limitMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let error: string | undefined;
    const sock = net.connect(sockPath);
    const limit = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close from the server within ${opts.limitMs ?? 10_000} ms; got ${JSON.stringify(Buffer.concat(parts).toString())}`));
    }, opts.limitMs ?? 10_000);
    sock.on('connect', () => {
      if (opts.halfClose) sock.end(payload);
      else sock.write(payload);
    });
    sock.on('data', (c: Buffer) => parts.push(c));
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => {
      clearTimeout(limit);
      resolve({ reply: Buffer.concat(parts).toString('latin1'), error });
    });
  });
}

/** A connection that is open and has sent nothing; `closed` resolves with what the server sent before closing. */
export function silentClient(sockPath: string): Promise<{ sock: net.Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const sock = net.connect(sockPath);
    const closed = new Promise<string>((res) => sock.on('close', () => res(Buffer.concat(parts).toString('latin1'))));
    sock.on('data', (c: Buffer) => parts.push(c));
    sock.on('error', () => {});
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('error', reject);
  });
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Polls `check` until it holds or `ms` pass; returns its last value. */
export async function eventually<T>(read: () => T, check: (v: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  let v = read();
  while (!check(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    v = read();
  }
  return v;
}
