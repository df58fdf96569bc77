/**
 * tshark as a judge of exported datagrams: decode a pcap with the cflow (NetFlow/IPFIX) dissector on a given
 * UDP port and report, per frame, whether it was malformed or raised expert info, plus chosen field values.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TsharkFrame {
  frame: number;
  malformed: boolean;
  /** Expert info messages (empty for a clean decode). */
  expert: string[];
  /** Requested fields: every occurrence in the frame, in order. */
  fields: Record<string, string[]>;
}

/** Field values are joined with this; tshark's default ',' also occurs inside its date strings. */
const AGG = '\u001f';

export async function tsharkFrames(pcap: string, port: number, fields: string[]): Promise<TsharkFrame[]> {
  const base = ['frame.number', '_ws.malformed', '_ws.expert.message'];
  const args = ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'fields', '-E', 'separator=\t', '-E', `aggregator=${AGG}`, '-E', 'occurrence=a'];
  for (const f of [...base, ...fields]) args.push('-e', f);
  const { stdout } = await execFileP('tshark', args, { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 * 1024 * 1024 });
  const frames: TsharkFrame[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('\t');
    const list = (s: string | undefined): string[] => (s ? s.split(AGG) : []);
    const rec: Record<string, string[]> = {};
    fields.forEach((f, i) => (rec[f] = list(cols[3 + i])));
    frames.push({ frame: Number(cols[0]), malformed: cols[1] !== '', expert: list(cols[2]), fields: rec });
  }
  return frames;
}

/** tshark's expert summary (`-z expert`), for failure messages. */
export async function tsharkExpertSummary(pcap: string, port: number): Promise<string> {
  const { stdout } = await execFileP('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-q', '-z', 'expert']);
  return stdout;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Nov 24, 2026 19:42:47.790123456 UTC" → [seconds since the epoch, nanoseconds]. */
export function parseTsharkTime(s: string): [number, number] {
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? UTC$/.exec(s.trim());
  if (!m) throw new Error(`unexpected tshark time '${s}'`);
  const sec = Date.UTC(+m[3], MONTHS.indexOf(m[1]), +m[2], +m[4], +m[5], +m[6]) / 1000;
  const frac = (m[7] ?? '0').padEnd(9, '0').slice(0, 9);
  return [sec, Number(frac)];
}
