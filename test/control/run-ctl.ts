/** Runs the control clients as installed programs, for tests: flowprobectl (bin/flowprobectl.js) and softflowctl. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const FLOWPROBECTL = path.resolve(__dirname, '../../bin/flowprobectl.js');
export const SOFTFLOWCTL = '/usr/sbin/softflowctl';

export interface CtlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `file args`; never rejects, so tests can look at failures. */
export function runTool(file: string, args: string[], timeoutMs = 30_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'latin1', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

export function flowprobectl(args: string[], timeoutMs?: number): Promise<CtlResult> {
  return runTool(process.execPath, [FLOWPROBECTL, ...args], timeoutMs);
}
