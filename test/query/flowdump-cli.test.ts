/**
 * The flowdump command as a user runs it (bin/flowdump.js): its errors are one line on stderr, with a non-zero
 * exit, and they come before any flow file is opened. Reading files is the store's job (src/store/reader.ts).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/flowdump.js', import.meta.url));
const STORE_READER = fileURLToPath(new URL('../../src/store/reader.ts', import.meta.url));
const PCAP = fileURLToPath(new URL('../../pcaps/ipfixprobe-dns.pcap', import.meta.url));

async function flowdump(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('flowdump command line', () => {
  it('reports a bad filter in one line naming the token and its column', async () => {
    const r = await flowdump('-r', 'no-such-file', 'proto', 'tcp', 'and', 'port', 'foo');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('flowdump: filter: unexpected "foo" at column 20: expected a port number\n');
    expect(r.stdout).toBe('');
  }, 20_000);

  it('-Z checks the filter and exits 0 when it is good', async () => {
    expect(await flowdump('-Z', 'src net 10.0.0.0/8 and not (port 53 or flags R)')).toEqual({ code: 0, stdout: '', stderr: '' });
    const bad = await flowdump('-Z', 'net 10.0.0.0/33');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('flowdump: filter: network "10.0.0.0/33" at column 5: prefix length must be 1..32\n');
  }, 20_000);

  it('rejects bad -s, -o, -A, -n and -t values before looking for input', async () => {
    const cases: Array<[string[], string]> = [
      [['-s', 'srcip/octets'], 'flowdump: statistic "srcip/octets": unknown order "octets" (use flows, packets, bytes, pps, bps, bpp)\n'],
      [['-o', 'xml'], 'flowdump: unknown output format "xml" (use line, long, extended, csv, json or fmt:<tags>)\n'],
      [['-n', 'ten', '-s', 'srcip'], 'flowdump: -n ten: expected a whole number\n'],
      [['-t', '2026/11/24.25:00'], 'flowdump: time window "2026/11/24.25:00": hour 25 is not 0..23\n'],
    ];
    for (const [args, message] of cases) {
      const r = await flowdump(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(message);
    }
    const agg = await flowdump('-A', 'srcip,colour');
    expect(agg.stderr).toMatch(/^flowdump: aggregation: unknown field "colour" \(use srcip, dstip, .*\)\n$/);
  }, 40_000);

  it('asks for input when there is none', async () => {
    const r = await flowdump('proto', 'tcp');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('flowdump: no input: give -r FILE or -R DIR (see flowdump --help)\n');
  }, 20_000);

  it('says a command-line error in one line naming the program, as flowprobe does', async () => {
    for (const [args, message] of [
      [['--bogus'], "flowdump: unknown option '--bogus' (see flowdump --help)\n"],
      [['-R'], "flowdump: option '-R, --read-dir <dir>' argument missing (see flowdump --help)\n"],
    ] as const) {
      expect(await flowdump(...args)).toEqual({ code: 1, stdout: '', stderr: message });
    }
  }, 20_000);

  it.skipIf(!existsSync(STORE_READER))('says which path could not be read, and why, in words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowdump-cli-'));
    try {
      for (const [args, message] of [
        [['-R', '/nonexistent'], 'flowdump: -R /nonexistent: no such directory\n'],
        [['-r', '/nonexistent'], 'flowdump: -r /nonexistent: no such file\n'],
        [['-f', '/nonexistent', '-r', '/dev/null'], 'flowdump: -f /nonexistent: no such file\n'],
        [['-r', dir], `flowdump: -r ${dir}: a directory: read it with -R\n`],
        [['-R', '/etc/passwd'], 'flowdump: -R /etc/passwd: not a directory: read it with -r\n'],
        [['-r', '/etc/passwd'], 'flowdump: -r /etc/passwd: not a flow file: it starts with 0x726f6f74 ("root"), not with an IPFIX message header\n'],
        [['-r', PCAP], `flowdump: -r ${PCAP}: not a flow file but a packet capture (pcap/pcapng): turn it into flows with flowprobe -r\n`],
      ] as const) {
        expect(await flowdump(...args)).toEqual({ code: 1, stdout: '', stderr: message });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it.skipIf(!existsSync(STORE_READER))('refuses a pipe that turns out not to hold flows, printing nothing', () => {
    // Through the shell: a real pipe (node's own stdin for a child is a socket, which /dev/stdin cannot open).
    const r = spawnSync('/bin/sh', ['-c', 'printf "root:x:0:0:root:/root:/bin/sh\\n" | "$0" "$1" -r /dev/stdin', process.execPath, BIN], {
      encoding: 'utf8',
    });
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'flowdump: -r /dev/stdin: not a flow file: it starts with 0x726f6f74 ("root"), not with an IPFIX message header\n',
    });
  }, 20_000);

  it('--help shows no empty default for the repeatable options', async () => {
    const help = await flowdump('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('-s, --stat');
    expect(help.stdout).not.toContain('(default: [])');
  }, 20_000);

  it.skipIf(existsSync(STORE_READER))('says clearly that this build cannot read flow files yet', async () => {
    const r = await flowdump('-r', '/nonexistent/flows.202611241950');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('flowdump: this build has no flow file reader (src/store/reader.ts), so -r/-R cannot be read\n');
  }, 20_000);
});
