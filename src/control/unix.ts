/** Facts about Unix sockets and system errors that the server and the client both need. */
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
