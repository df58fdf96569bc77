/**
 * Runs softflowd and flowprobe over the same capture with the same settings, each into its own real nfcapd, and
 * returns what nfdump reads back from each.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startNfcapd, type NfFlow } from '../helpers/nfcapd.js';
import { parseProbeArgs } from '../../src/probe/options.js';
import { runFileJob } from '../../src/probe/file-job.js';

const execFileP = promisify(execFile);

/** Timeouts longer than any capture, so no time-based expiry fires in either tool (softflowd's -r has none). */
export const LONG_TIMEOUTS = ['tcp', 'tcp.rst', 'tcp.fin', 'udp', 'icmp', 'general'].flatMap((n) => ['-t', `${n}=520w`]).concat(['-t', 'maxlife=0']);

/** nfcapd's receive buffer: softflowd's end-of-file burst overruns the default one. */
const NFCAPD_BUFFER = 33554432;

export interface OracleResult {
  softflowd: NfFlow[];
  flowprobe: NfFlow[];
  softflowdLog: string;
  flowprobeError: string | null;
}

/** softflowd reads `softflowdFiles` (by default the same file), one run each into the same nfcapd. */
export async function runBoth(file: string, args: string[], softflowdFiles: string[] = [file]): Promise<OracleResult> {
  const a = await startNfcapd({ bufferBytes: NFCAPD_BUFFER });
  const b = await startNfcapd({ bufferBytes: NFCAPD_BUFFER });
  try {
    let softflowdLog = '';
    for (const f of softflowdFiles) {
      try {
        const r = await execFileP('softflowd', ['-r', f, '-n', `127.0.0.1:${a.port}`, '-c', 'none', '-d', ...args], {
          timeout: 60_000,
        });
        softflowdLog += r.stdout + r.stderr;
      } catch (e) {
        // softflowd exits 1 on captures it cannot read (e.g. "Unsupported datalink type 276").
        const err = e as { stdout?: string; stderr?: string };
        softflowdLog += (err.stdout ?? '') + (err.stderr ?? '');
      }
    }
    const cfg = parseProbeArgs(['-r', file, '-n', `127.0.0.1:${b.port}`, '--octets', 'link', '--no-progress', ...args]);
    const r = await runFileJob(cfg, () => undefined);
    const [softflowd, flowprobe] = await Promise.all([a.flows(), b.flows()]);
    return { softflowd, flowprobe, softflowdLog, flowprobeError: r.error };
  } finally {
    await Promise.all([a.cleanup(), b.cleanup()]);
  }
}

/** The compared part of a flow: protocol, addresses, ports, packets, bytes, TCP flags. */
export function flowKey(f: NfFlow): string {
  return `${f.proto} ${f.srcAddr}:${f.srcPort} > ${f.dstAddr}:${f.dstPort} pkts=${f.packets} bytes=${f.bytes} flags=${f.tcpFlags}`;
}

/** Multiset difference a − b of flow keys. */
export function minus(a: string[], b: string[]): string[] {
  const count = new Map<string, number>();
  for (const k of b) count.set(k, (count.get(k) ?? 0) + 1);
  const out: string[] = [];
  for (const k of a) {
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else out.push(k);
  }
  return out;
}
