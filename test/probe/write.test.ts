/**
 * `flowprobe -r FILE -w DIR` stores the flows in flowcapd's files, with no network: flowdump reads back exactly
 * the flows flowprobe prints for the same capture.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-write-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [path.join(ROOT, 'bin', cmd), ...args], { maxBuffer: 64 << 20 });
  return stdout;
}

/** The compared fields of one JSON flow line (flowdump's and flowprobe's JSON are the same printer). */
function key(line: string): string {
  const j = JSON.parse(line) as Record<string, unknown>;
  return ['proto', 'src4_addr', 'src6_addr', 'dst4_addr', 'dst6_addr', 'src_port', 'dst_port', 'icmp_type', 'icmp_code', 'in_packets', 'in_bytes', 'tcp_flags', 'first', 'last']
    .map((k) => String(j[k]))
    .join(' ');
}

describe('flowprobe -w', () => {
  it.each(['pcapplusplus-example2.pcap', 'ipfixprobe-mixed.pcap', 'zeek-pppoe.pcap'])(
    '%s: flowdump reads back the flows flowprobe prints',
    async (file) => {
      const capture = path.join(ROOT, 'pcaps', file);
      const dir = fs.mkdtempSync(path.join(tmp, 'd-'));
      const summary = await run('flowprobe.js', ['-r', capture, '-v', '9', '-w', dir, '--rotate', '60', '--no-progress']);
      const written = Number(/Flows written: (\d+) records in (\d+) files/.exec(summary)?.[1]);
      const files = fs.readdirSync(dir);
      expect(files.every((f) => /^flows\.\d{12}$/.test(f)), files.join(' ')).toBe(true);
      const printed = (await run('flowprobe.js', ['-r', capture, '-v', '9', '--format', 'json', '--no-progress'])).trim().split('\n');
      const stored = (await run('flowdump.js', ['-R', dir, '-o', 'json', '-q'])).trim().split('\n');
      expect(stored.length).toBe(written);
      expect(stored.map(key).sort()).toEqual(printed.map(key).sort());
    },
    60_000,
  );
});
