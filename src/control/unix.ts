/**
 * Facts about Unix sockets, processes and system errors that the control server and client, the probe, flowcapd
 * and flowdump share.
 */
import fs from 'node:fs';
import util from 'node:util';

/** sun_path is 108 bytes on Linux including the terminating NUL; libuv silently truncates longer paths. */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * strerror() text for a Node system error: "No such file or directory" for ENOENT, so messages read like
 * softflowctl's. libuv's table has the same words in lower case; other errors give their message.
 */
export function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === 'number') {
    const entry = util.getSystemErrorMap().get(err.errno);
    if (entry) return entry[1].charAt(0).toUpperCase() + entry[1].slice(1);
  }
  return err instanceof Error ? err.message : String(e);
}

/**
 * Why a path could not be used, as the words after it in a one-line message: "no such file", "not a directory",
 * "permission denied" (strerror's words in lower case), rather than Node's "ENOENT: no such file or directory,
 * open '/x'".
 */
export function pathReason(e: unknown, kind: 'file' | 'directory'): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `no such ${kind}`;
  if (code === 'ENOTDIR') return kind === 'directory' ? 'not a directory' : 'a part of the path is not a directory';
  const words = strerror(e);
  return words.charAt(0).toLowerCase() + words.slice(1);
}

/** Why `dir` cannot take files (flowcapd -l, flowprobe -w), or null when it is a directory. */
export function dirProblem(dir: string): string | null {
  try {
    return fs.statSync(dir).isDirectory() ? null : 'not a directory';
  } catch (e) {
    return pathReason(e, 'directory');
  }
}

/** Whether process `pid` exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
