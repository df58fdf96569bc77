/**
 * Daemon mode without fork(): the command starts itself again, detached in a new session with no terminal, and
 * waits until the copy has opened its capture, control socket and pidfile. So the user sees a setup error (a
 * missing device, a socket already in use) on the terminal and a non-zero exit, which softflowd's daemon mode
 * hides.
 */
import { spawn } from 'node:child_process';

const CHILD_ENV = 'FLOWPROBE_DAEMON_CHILD';

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/** In the parent: start the detached copy; resolves with its pid once it is ready, or rejects with its error. */
export function daemonize(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the daemon did not report ready within 30 s')), 30_000);
    child.on('message', (m: { ready?: boolean; error?: string }) => {
      clearTimeout(timer);
      if (m.ready) {
        child.disconnect();
        child.unref();
        resolve(child.pid!);
      } else reject(new Error(m.error ?? 'the daemon failed to start'));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited during start-up (status ${code})`));
    });
  });
}

/** In the child: tell the parent how start-up went, then cut the channel so the parent can leave. */
export function reportToParent(result: { ready: true } | { error: string }): void {
  if (!isDaemonChild() || !process.send) return;
  process.send(result, () => {
    if ('ready' in result) process.disconnect?.();
  });
}
