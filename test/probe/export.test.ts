/**
 * The flowprobe command end to end: `flowprobe -r FILE -n 127.0.0.1:P -v 5|9|10` as a real process, judged by a
 * real nfcapd (every flow stored, 0 sequence errors, 0 bad packets) and by tshark (every export datagram
 * decodes with no malformed or expert-error field).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startNfcapd } from '../helpers/nfcapd.js';
import { pcapBytes, writePcap } from '../helpers/pcapwrite.js';
import { tsharkFrames } from '../helpers/tshark.js';
import { genpcapTool } from '../helpers/shared.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const FLOWPROBE = path.join(ROOT, 'bin/flowprobe.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-export-'));
let big = '';

beforeAll(() => {
  big = path.join(tmp, 'genpcap-50k.pcap');
  execFileSync('python3', [genpcapTool(), big, '--packets', '50000', '--flows', '5000', '--seed', '3']);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function flowprobe(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileP(process.execPath, [FLOWPROBE, ...args], { timeout: 120_000 });
}

const VERSIONS: [string, string[]][] = [
  ['NetFlow v5', ['-v', '5']],
  ['NetFlow v9', ['-v', '9']],
  ['IPFIX', ['-v', '10']],
];

describe('nfcapd accepts every export', () => {
  it.each(VERSIONS)('%s: all flows stored, 0 sequence errors, 0 bad packets', async (_name, args) => {
    // A 4 MiB socket buffer, not a 32 MiB one: the paced export must fit it even when the suite runs test files
    // in parallel and nfcapd waits for a core (with nfcapd's default 208 KiB, a stall of some tens of ms on this
    // shared 2-core machine is enough to lose datagrams at any useful rate).
    const nf = await startNfcapd({ bufferBytes: 4 << 20 });
    try {
      const { stdout } = await flowprobe(['-r', big, '-n', `127.0.0.1:${nf.port}`, ...args, '--no-progress']);
      const exported = Number(/Flows exported: (\d+) records/.exec(stdout)?.[1]);
      expect(exported).toBeGreaterThan(5000);
      const flows = await nf.flows();
      expect(flows.length).toBe(exported);
      expect(nf.log()).toMatch(new RegExp(`Flows: ${exported}, .*Sequence Errors: 0, Bad Packets: 0`));
    } finally {
      await nf.cleanup();
    }
  }, 180_000);
});

describe('tshark decodes every export datagram', () => {
  it.each(VERSIONS)('%s: no malformed frames, no expert errors', async (_name, args) => {
    let total = 0;
    // One export stream per run (each run starts its own sequence numbers), each judged on its own.
    for (const f of ['pcapplusplus-example2.pcap', 'ipfixprobe-mixed.pcap', 'zeek-mixed-vlan-mpls.pcap', big]) {
      const sock = dgram.createSocket('udp4');
      const got: Buffer[] = [];
      sock.on('message', (m) => got.push(m));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      sock.setRecvBufferSize(4 << 20);
      try {
        const file = path.isAbsolute(f) ? f : path.join(ROOT, 'pcaps', f);
        await flowprobe(['-r', file, '-n', `127.0.0.1:${sock.address().port}`, ...args, '--no-progress']);
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        sock.close();
      }
      expect(got.length).toBeGreaterThan(0);
      const pcap = path.join(tmp, `export-${args[1]}-${path.basename(f)}`);
      await writePcap(pcap, got.map((payload) => ({ payload })), 2055);
      const frames = await tsharkFrames(pcap, 2055, ['cflow.version']);
      expect(frames.length).toBe(got.length);
      const bad = frames.filter((fr) => fr.malformed || fr.expert.length > 0).map((fr) => `#${fr.frame}: ${fr.expert.join('; ')}`);
      expect(bad, f).toEqual([]);
      expect(new Set(frames.flatMap((fr) => fr.fields['cflow.version']))).toEqual(new Set([args[1]]));
      total += got.length;
    }
    expect(total).toBeGreaterThan(100);
  }, 180_000);
});

/** Inputs for the one-line errors below, made once: a capture of a link type we do not decode, and an empty file. */
const BAD = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-bad-input-'));
afterAll(() => fs.rmSync(BAD, { recursive: true, force: true }));
fs.writeFileSync(path.join(BAD, 'usb.pcap'), pcapBytes(220, [{ bytes: [1, 2, 3, 4], sec: 1_700_000_000 }]));
fs.writeFileSync(path.join(BAD, 'empty.pcap'), '');

describe('the pcap job on the command line', () => {
  it('prints flows without -n, and nothing on stderr', async () => {
    const { stdout, stderr } = await flowprobe(['-r', path.join(ROOT, 'pcaps', 'zeek-http-vlan-0.pcap'), '--no-progress']);
    expect(stdout.split('\n')[0]).toMatch(/^Date first seen\s+Duration\s+Proto\s+Src IP Addr:Port\s+Dst IP Addr:Port/);
    expect(stdout).toContain('141.142.228.5:59856 ->   192.150.187.43:80           7      512');
    expect(stderr).toBe('');
  });

  it('prints JSON lines with --format json', async () => {
    const { stdout } = await flowprobe(['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '--format', 'json', '--no-progress']);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe(2);
    expect(lines.map((l) => l.in_packets)).toEqual([5, 5]);
  });

  it.each([
    [['-r', '/nonexistent.pcap'], /^flowprobe: \/nonexistent\.pcap: No such file or directory$/],
    [['-r', path.join(ROOT, 'package.json')], /package\.json: unknown file format$/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), 'tcp', 'port'], /bad filter "tcp port"/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-v', '7'], /NetFlow version must be 1, 5, 9 or 10/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-t', 'bogus=5'], /unknown timeout "bogus"/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-n', '127.0.0.1'], /bad collector "127.0.0.1": no port/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '--bogus'], /unknown option '--bogus'/],
    // softflowd refuses a link type it cannot decode ("Unsupported datalink type"): no silent empty run.
    [['-r', path.join(BAD, 'usb.pcap')], /usb\.pcap: link type 220 is not one flowprobe decodes/],
    [['-r', path.join(BAD, 'empty.pcap')], /empty\.pcap: the file is empty/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-w', path.join(BAD, 'nodir')], /-w .*nodir: no such directory$/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-n', ':2055'], /bad collector ":2055": no host/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-n', '[::1:2055'], /bad collector "\[::1:2055": '\[' without '\]:port'/],
    [['-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-S', 'lo'], /-S lo: there is no collector \(-n\) to send to/],
    [['-i', 'nosuchdev0', '-n', '127.0.0.1:9995', '-d'], /nosuchdev0/],
  ])('%j fails with one clear line', async (args, re) => {
    const err = await flowprobe(args as string[]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).not.toBe(0);
    const lines = err!.stderr.trim().split('\n');
    expect(lines.length, err!.stderr).toBe(1);
    expect(lines[0]).toMatch(re as RegExp);
    expect(err!.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a pcapng with an interface of a link type we do not decode', () => {
  it('says so once and makes the flows of the others', async () => {
    const usb = path.join(BAD, 'usb-mixed.pcap');
    fs.writeFileSync(usb, pcapBytes(220, [1, 2, 3].map((i) => ({ bytes: [1, 2, 3, 4], sec: 1_277_840_000 + i }))));
    const mixed = path.join(BAD, 'mixed.pcapng');
    execFileSync('mergecap', ['-F', 'pcapng', '-w', mixed, path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), usb]);
    const { stdout, stderr } = await flowprobe(['-r', mixed, '--format', 'json', '--no-progress']);
    expect(stderr).toBe(`flowprobe: ${mixed}: link type 220 is not one flowprobe decodes (see Link layers in flowprobe(8)): its packets are ignored\n`);
    expect(stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('capture without permission', () => {
  it('names the device and libpcap\'s reason, in one line', async () => {
    // An unprivileged user (nobody, no capabilities) may not open a capture socket.
    const err = await execFileP('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, FLOWPROBE, '-i', 'lo', '-d', '-n', '127.0.0.1:9', '-c', 'none']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe(1);
    expect(err!.stderr.trim()).toMatch(/^flowprobe: lo: You don't have permission to perform this capture on that device \(.*Operation not permitted\)$/);
  });
});

describe('a collector with no route at start-up', () => {
  it('does not stop the pcap job: sends are counted as failures', async () => {
    // A namespace of the test's own, with no interface up: no route anywhere, nothing can leave.
    const ns = `fp-noroute-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const r = await execFileP('ip', ['netns', 'exec', ns, process.execPath, FLOWPROBE, '-r', path.join(ROOT, 'pcaps', 'zeek-5-pings.pcap'), '-n', '10.9.9.9:2055', '-v', '9', '--no-progress']);
      expect(r.stderr).toMatch(/collector 10\.9\.9\.9:2055 is unreachable now \(ENETUNREACH\)/);
      expect(r.stdout).toMatch(/Flows exported: 2 records in 1 datagrams to 10\.9\.9\.9:2055 \(NetFlow v9, [1-9]\d* failures\)/);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
