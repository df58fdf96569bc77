/** Runs flowprobectl as it is installed (bin/flowprobectl.js through node), for tests. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const FLOWPROBECTL = path.resolve(__dirname, '../../bin/flowprobectl.js');

export interface CtlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs flowprobectl with `args`; never rejects, so tests can look at failures. */
export function flowprobectl(args: string[], timeoutMs = 30_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [FLOWPROBECTL, ...args],
      { encoding: 'latin1', timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
  });
}
