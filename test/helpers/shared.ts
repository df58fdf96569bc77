/**
 * ../shared (captures, genpcap.py, reference notes) sits next to the clone on every developer machine and in CI.
 * Where a clone lives elsewhere, FLOWPROBE_SHARED points at it; a missing folder is a setup error the tests name.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

export function sharedDir(): string {
  const candidates = [process.env.FLOWPROBE_SHARED, path.resolve(REPO, '../shared'), '/work/shared'].filter(
    (p): p is string => !!p,
  );
  for (const c of candidates) if (existsSync(path.join(c, 'tools', 'genpcap.py'))) return c;
  throw new Error(`cannot find the shared folder (tried ${candidates.join(', ')}): set FLOWPROBE_SHARED`);
}

/** The deterministic synthetic capture generator from ../shared/tools. */
export function genpcapTool(): string {
  return path.join(sharedDir(), 'tools', 'genpcap.py');
}
