import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRecordSource } from '../../src/store/reader.js';
import { FlowFileWriter } from '../../src/store/writer.js';
import { FlowRecord } from '../../src/wire/record.js';
import { FLOWDUMP, readFlows } from '../collect/run-flowcapd.js';
import { flow } from '../collect/messages.js';

const execFileP = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowread-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `n` messages with one record each (the first also holds the templates); returns its path and the message ends. */
function writeFile(sub: string, n: number, first = 0, at = Date.UTC(2026, 10, 24, 19, 50, 5)): { path: string; ends: number[] } {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true });
  const w = new FlowFileWriter({ dir: d, interval: 60, now: () => at });
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    w.onFlow(flow(first + i));
    w.tick();
    ends.push(w.stats.bytes);
  }
  w.close();
  const name = readdirSync(d).find((f) => f.startsWith('flows.'))!;
  return { path: join(d, name), ends };
}

describe('the flow file reader', () => {
  it('returns the records before the cut of a truncated file, at any cut, with one line naming file and byte', async () => {
    const { path, ends } = writeFile('a', 6);
    const bytes = readFileSync(path);
    const cut = join(dir, 'cut');
    for (let at = 0; at < bytes.length; at += 5) {
      writeFileSync(cut, bytes.subarray(0, at));
      const warnings: string[] = [];
      const got = await readFlows([], [cut], warnings);
      const whole = ends.filter((e) => e <= at).length;
      expect(got.map((r) => r.src[0] & 0xff)).toEqual([0, 1, 2, 3, 4, 5].slice(0, whole));
      if (ends.includes(at) || at === 0) expect(warnings).toEqual([]);
      else {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(new RegExp(`^${cut}: truncated: .*byte ${ends.filter((e) => e <= at).pop() ?? 0}.*; ${whole === 0 ? 'no flows read from it' : `the ${whole} records before it were read`}$`));
      }
    }
  });

  it('stops at a corrupt message header with the records before it, and says so', async () => {
    const { path, ends } = writeFile('a', 5);
    const bytes = readFileSync(path);
    bytes.writeUInt16BE(9, ends[2]); // the fourth message's version field
    writeFileSync(path, bytes);
    const warnings: string[] = [];
    expect((await readFlows([], [path], warnings)).map((r) => r.src[0] & 0xff)).toEqual([0, 1, 2]);
    expect(warnings).toEqual([`${path}: corrupt at byte ${ends[2]}: no IPFIX message header there (version 9, length ${ends[3] - ends[2]}); the 3 records before it were read`]);
  });

  it('reads past a damaged set inside a well-framed message, and reports it', async () => {
    const { path, ends } = writeFile('a', 4);
    const bytes = readFileSync(path);
    bytes.writeUInt16BE(0xffff, ends[1] + 16 + 2); // third message: its data set claims more bytes than there are
    writeFileSync(path, bytes);
    const warnings: string[] = [];
    expect((await readFlows([], [path], warnings)).map((r) => r.src[0] & 0xff)).toEqual([0, 1, 3]);
    expect(warnings).toEqual([`${path}: 1 malformed message(s) (BAD_SET_LENGTH=1); their readable sets were read`]);
  });

  it('refuses a named file that is not a flow file, before reading anything, saying what it is', () => {
    const { path } = writeFile('a', 2);
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'nfcapd file? no: plain text\n');
    expect(() => openRecordSource({ files: [path, junk], dirs: [] })).toThrow(
      `cannot read ${junk}: not a flow file: it starts with 0x6e666361 ("nfca"), not with an IPFIX message header`,
    );
    const pcap = join(dir, 'capture');
    copyFileSync(new URL('../../pcaps/ipfixprobe-dns.pcap', import.meta.url), pcap);
    expect(() => openRecordSource({ files: [pcap], dirs: [] })).toThrow(/not a flow file but a packet capture \(pcap\/pcapng\): turn it into flows with flowprobe -r$/);
    // An empty file holds no flows and no damage.
    writeFileSync(join(dir, 'empty'), '');
    expect(() => openRecordSource({ files: [join(dir, 'empty')], dirs: [] })).not.toThrow();
  });

  it('skips a file that is not a flow file found in a directory, says so, and goes on with the next one', async () => {
    const { path } = writeFile('a', 2);
    const junk = join(dir, 'a', 'flows.000000000000');
    writeFileSync(junk, 'nfcapd file? no: plain text\n');
    const warnings: string[] = [];
    expect(await readFlows([join(dir, 'a')], [], warnings)).toHaveLength(2);
    expect(warnings).toEqual([
      `${junk}: not a flow file: it starts with 0x6e666361 ("nfca"), not with an IPFIX message header; no flows read from it`,
    ]);
    expect(path > junk).toBe(true);
  });

  it('reads directories recursively in name order, skipping temporary, suspect and foreign files', async () => {
    const later = writeFile('x/2026/11/25', 2, 20, Date.UTC(2026, 10, 25, 1, 0, 0));
    writeFile('x/2026/11/24', 2, 10, Date.UTC(2026, 10, 24, 1, 0, 0));
    writeFile('x', 2, 0, Date.UTC(2026, 10, 23, 1, 0, 0));
    copyFileSync(later.path, join(dir, 'x', '.flows.202611250100.123.tmp'));
    copyFileSync(later.path, join(dir, 'x', 'suspect.202611250100'));
    writeFileSync(join(dir, 'x', 'README'), 'not flows');
    const src = openRecordSource({ files: [], dirs: [join(dir, 'x')] }, { warn: () => undefined });
    const got: number[] = [];
    await src.forEach((r) => void got.push(r.src[0] & 0xff));
    expect(got).toEqual([0, 1, 10, 11, 20, 21]);
    // By file name, whatever the layout of subdirectories.
    expect(src.paths.map((p) => p.slice(dir.length + 3))).toEqual([
      expect.stringMatching(/^flows\./),
      expect.stringMatching(/^2026\/11\/24\/flows\./),
      expect.stringMatching(/^2026\/11\/25\/flows\./),
    ]);
    expect(src.bytesRead).toBeGreaterThan(0);
    const suspect: FlowRecord[] = [];
    await openRecordSource({ files: [], dirs: [join(dir, 'x')] }, { prefix: 'suspect' }).forEach((r) => void suspect.push(r));
    expect(suspect).toHaveLength(2);
  });

  it('stops reading when the consumer has had enough', async () => {
    const { path } = writeFile('a', 5);
    let n = 0;
    await openRecordSource({ files: [path, path], dirs: [] }).forEach(() => ++n < 3);
    expect(n).toBe(3);
  });

  it('throws one line, in words, for a path that cannot be read at all', () => {
    const { path } = writeFile('a', 1);
    expect(() => openRecordSource({ files: [join(dir, 'none')], dirs: [] })).toThrow(`cannot read ${join(dir, 'none')}: no such file`);
    expect(() => openRecordSource({ files: [], dirs: [join(dir, 'none')] })).toThrow(`cannot read directory ${join(dir, 'none')}: no such directory`);
    expect(() => openRecordSource({ files: [dir], dirs: [] })).toThrow(`cannot read ${dir}: a directory: read it with -R`);
    expect(() => openRecordSource({ files: [], dirs: [path] })).toThrow(`cannot read directory ${path}: not a directory: read it with -r`);
  });

  it('is what flowdump -r/-R reads: records before the damage printed, one line on stderr, exit 0', async () => {
    const { path, ends } = writeFile('a', 3);
    writeFileSync(path, readFileSync(path).subarray(0, ends[2] - 3));
    const { stdout, stderr } = await execFileP(process.execPath, [FLOWDUMP, '-R', join(dir, 'a'), '-o', 'csv', '-q'], {
      env: { ...process.env, TZ: 'UTC' },
    });
    expect(stdout.trim().split('\n')).toHaveLength(2);
    expect(stdout).toContain('10.0.0.1,192.168.0.7');
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^flowdump: .*flows\.\d+: truncated: .*; the 2 records before it were read$/)]);
  });
});
