/**
 * The flowcapd command as a process: real UDP sockets (IPv4 and IPv6), real files, real signals.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { IpfixEncoder } from '../../src/wire/ipfix.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { V5Encoder } from '../../src/wire/v5.js';
import { V9Encoder } from '../../src/wire/v9.js';
import { flow } from './messages.js';
import { FLOWCAPD, readFlows, sendAll, startFlowcapd } from './run-flowcapd.js';

type Encoder = V5Encoder | V9Encoder | IpfixEncoder;

/** Datagrams carrying `recs`, templates in the first (v9/IPFIX), as full as the encoder makes them. */
function datagrams(enc: Encoder, recs: FlowRecord[], nowMs = Date.now()): Uint8Array[] {
  const out: Uint8Array[] = [];
  const boot = nowMs - 3_600_000;
  const begin = (): void => {
    enc.beginMessage(nowMs, boot);
    if (!(enc instanceof V5Encoder) && out.length === 0) enc.addTemplates();
  };
  begin();
  for (const r of recs) {
    if (!enc.addRecord(r)) {
      out.push(enc.finish().slice());
      begin();
      enc.addRecord(r);
    }
  }
  if (enc.recordCount > 0) out.push(enc.finish().slice());
  return out;
}

const many = (n: number, at = Date.now() - 60_000): FlowRecord[] => Array.from({ length: n }, (_, i) => flow(i, at));
const srcIds = (rs: FlowRecord[]): number[] => rs.map((r) => r.src[0] & 0xffffff).sort((a, b) => a - b);
const hiddenFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('.'));

describe('flowcapd', () => {
  it('stores v5, v9 and IPFIX from one port; SIGTERM puts every accepted flow on disk and exits 0', async () => {
    const fc = await startFlowcapd();
    try {
      expect(fc.stderr()).toMatch(new RegExp(`^flowcapd: listening on 127\\.0\\.0\\.1:${fc.port} for NetFlow v1/v5/v9 and IPFIX; writing .* every 300 s\\n`));
      const recs = many(300);
      await sendAll(fc.port, datagrams(new V5Encoder(), recs.slice(0, 100)));
      await sendAll(fc.port, datagrams(new V9Encoder(), recs.slice(100, 200)));
      await sendAll(fc.port, datagrams(new IpfixEncoder(), recs.slice(200)));
      await fc.drained();
      expect(await fc.stop()).toBe(0);
      expect(hiddenFiles(fc.dir)).toEqual([]);
      const back = await readFlows([fc.dir]);
      expect(srcIds(back)).toEqual(srcIds(recs));
      expect(back.every((r) => r.exporterVersion === 4 && r.exporter[0] === 0x7f000001)).toBe(true);
      const err = fc.stderr();
      expect(err).toMatch(/127\.0\.0\.1:\d+ v5 engine 0: packets 4, flows 100, sequence errors 0 \(missing 0\), malformed 0/);
      expect(err).toMatch(/127\.0\.0\.1:\d+ v9 source id 0: packets \d+, flows 100, sequence errors 0/);
      expect(err).toMatch(/127\.0\.0\.1:\d+ IPFIX domain 0: packets \d+, flows 100, sequence errors 0/);
      expect(err).toMatch(/total: \d+ datagrams, 300 flows .*flows written 300, write errors 0, flows dropped for lack of disk 0/);
      expect(err).toMatch(/SIGTERM: stopped\n$/);
    } finally {
      await fc.cleanup();
    }
  });

  it('rotates on the aligned boundary (-t 2): each flow is in the file of the slot it arrived in', async () => {
    const fc = await startFlowcapd({ args: ['-t', '2'] });
    const s = createSocket('udp4');
    try {
      const enc = new V5Encoder();
      const sent: number[] = [];
      let sawPrevious = false;
      for (let i = 0; i < 45; i++) {
        const t = Date.now();
        // One flow per datagram; the flow's start time is when it was sent.
        const [d] = datagrams(enc, [flow(i, t, 0)], t);
        await new Promise<void>((res) => s.send(d, fc.port, '127.0.0.1', () => res()));
        sent.push(t);
        // 300 ms into a slot, the previous slot's file is in place.
        if (t % 2000 > 300 && t % 2000 < 500 && i > 20) {
          const prev = Math.floor(t / 2000) * 2000 - 2000;
          sawPrevious ||= readdirSync(fc.dir).includes(utcName(prev));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await fc.drained();
      expect(await fc.stop()).toBe(0);
      expect(sawPrevious).toBe(true);
      const files = readdirSync(fc.dir).sort();
      expect(files.length).toBeGreaterThanOrEqual(3);
      for (const f of files) expect(f).toMatch(/^flows\.\d{13}[02468]$/);
      let total = 0;
      for (const f of files) {
        const slot = fromUtcName(f);
        for (const r of await readFlows([], [`${fc.dir}/${f}`])) {
          total++;
          const t = sent[r.src[0] & 0xffffff];
          // Sent more than 50 ms from a boundary: it must be in that slot's file.
          if (t % 2000 > 50 && t % 2000 < 1950) expect(Math.floor(t / 2000) * 2000).toBe(slot);
        }
      }
      expect(total).toBe(45);
    } finally {
      s.close();
      await fc.cleanup();
    }
  }, 20_000);

  it('SIGTERM in the middle of a burst leaves only whole files holding exactly the flows it accepted', async () => {
    const fc = await startFlowcapd();
    try {
      const grams = datagrams(new V9Encoder(), many(12_000));
      const half = Math.floor(grams.length / 2);
      await sendAll(fc.port, grams.slice(0, half));
      const sending = sendAll(fc.port, grams.slice(half));
      process.kill(fc.proc.pid!, 'SIGTERM');
      await sending;
      expect(await fc.stop()).toBe(0);
      expect(hiddenFiles(fc.dir)).toEqual([]);
      const written = Number(/flows written (\d+),/.exec(fc.stderr())![1]);
      const back = await readFlows([fc.dir]);
      expect(back).toHaveLength(written);
      expect(written).toBeGreaterThan(0);
      console.log(`burst: ${written} of 12000 flows accepted before SIGTERM`);
      expect(written).toBeLessThanOrEqual(12_000);
      // What it has is whole and in order: each flow once.
      expect(new Set(srcIds(back)).size).toBe(written);
    } finally {
      await fc.cleanup();
    }
  });

  it('listens on IPv6 too, drops and counts what --accept-from does not cover', async () => {
    const fc = await startFlowcapd({ args: ['-b', '::1', '--accept-from', '10.0.0.0/8', '--accept-from', '::1'] });
    try {
      expect(fc.stderr()).toMatch(/listening on 127\.0\.0\.1:\d+ and \[::1\]:\d+ .*accepting only 10\.0\.0\.0\/8, ::1/);
      await sendAll(fc.port, datagrams(new V5Encoder(), many(60)), '127.0.0.1');
      await sendAll(fc.port, datagrams(new V5Encoder(), many(30)), '::1');
      await fc.drained();
      expect(await fc.stop()).toBe(0);
      const back = await readFlows([fc.dir]);
      expect(back).toHaveLength(30);
      expect(back[0].exporterVersion).toBe(6);
      const err = fc.stderr();
      expect(err).toMatch(/datagrams from 127\.0\.0\.1 dropped: not in --accept-from \(counted\)/);
      expect(err).toMatch(/total: 3 datagrams, 30 flows .*dropped: 2 by --accept-from/);
      expect(err).toMatch(/\[::1\]:\d+ v5 engine 0: packets 1, flows 30/);
    } finally {
      await fc.cleanup();
    }
  });

  it('keys sessions by port unless --ignore-port', async () => {
    for (const [args, sessions] of [[[], 2], [['--ignore-port'], 1]] as const) {
      const fc = await startFlowcapd({ args: [...args] });
      try {
        const enc = new V9Encoder();
        const grams = datagrams(enc, many(50));
        // Two sockets, two source ports, one exporter.
        await sendAll(fc.port, grams);
        await sendAll(fc.port, datagrams(enc, many(5)));
        await fc.drained();
        await fc.stop();
        expect(fc.stderr().match(/new exporter/g)).toHaveLength(sessions);
      } finally {
        await fc.cleanup();
      }
    }
  });

  it('--print -o csv prints flows as they arrive, with no files', async () => {
    const fc = await startFlowcapd({ noDir: true, args: ['-o', 'csv'] });
    try {
      await sendAll(fc.port, datagrams(new IpfixEncoder(), many(3)));
      const deadline = Date.now() + 5000;
      while (fc.stdout().split('\n').length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const lines = fc.stdout().trim().split('\n');
      expect(lines[0]).toMatch(/^ts,te,td,sa,da,sp,dp,pr,/);
      expect(lines.slice(1).map((l) => l.split(',')[3])).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
      expect(await fc.stop()).toBe(0);
      expect(readdirSync(fc.dir)).toEqual([]);
    } finally {
      await fc.cleanup();
    }
  });

  it('keeps flows with impossible times apart in suspect.* files, counted', async () => {
    const fc = await startFlowcapd();
    try {
      const future = flow(1, Date.now() + 7_200_000);
      await sendAll(fc.port, datagrams(new IpfixEncoder(), [flow(0, Date.now() - 60_000), future], Date.now()));
      await fc.drained();
      expect(await fc.stop()).toBe(0);
      expect(srcIds(await readFlows([fc.dir]))).toEqual([0]);
      const files = readdirSync(fc.dir).filter((f) => f.startsWith('suspect.'));
      expect(files).toHaveLength(1);
      expect(srcIds(await readFlows([], [`${fc.dir}/${files[0]}`]))).toEqual([1]);
      expect(fc.stderr()).toMatch(/impossible times 1 \(future 1, end<start 0\)/);
      expect(fc.stderr()).toMatch(/flow with impossible times \(in the future\); such flows are counted and kept apart/);
    } finally {
      await fc.cleanup();
    }
  });

  it('after a crash (SIGKILL), the next start finishes the open file: the flows already written are kept', async () => {
    const first = await startFlowcapd();
    try {
      await sendAll(first.port, datagrams(new V5Encoder(), many(90)));
      await first.drained();
      await new Promise((r) => setTimeout(r, 1200)); // one tick: the open interval's records reach its file
      await first.stop('SIGKILL');
      expect(hiddenFiles(first.dir)).toHaveLength(1);
      const second = await startFlowcapd({ dir: first.dir });
      try {
        expect(second.stderr()).toMatch(/recovered \.flows\.\d{12}\.\d+\.tmp from an earlier run \(pid \d+\) as .*flows\.\d{12}: \d+ bytes kept/);
        const code = await second.stop();
        expect(code, second.stderr()).toBe(0);
      } finally {
        await second.cleanup();
      }
      expect(srcIds(await readFlows([first.dir]))).toEqual(Array.from({ length: 90 }, (_, i) => i));
    } finally {
      await first.cleanup();
    }
  });

  it('a pause in the datagrams puts their flows in the file at once, not at the next tick: a crash then loses none', async () => {
    // Sent just after a whole second (ticks are at +2 ms) and killed well before the next one, up to 3 tries on a
    // machine too slow to fit that in: only the pause can have written the flows by then.
    for (let attempt = 0; ; attempt++) {
      const fc = await startFlowcapd();
      try {
        while (Date.now() % 1000 < 50 || Date.now() % 1000 > 150) await new Promise((r) => setTimeout(r, 5));
        const second = Math.floor(Date.now() / 1000);
        await sendAll(fc.port, datagrams(new V5Encoder(), many(90)));
        await fc.drained();
        await new Promise((r) => setTimeout(r, 300));
        const inTime = Math.floor(Date.now() / 1000) === second && Date.now() % 1000 < 950;
        await fc.stop('SIGKILL');
        if (!inTime && attempt < 2) continue;
        expect(inTime, 'killed before the next tick').toBe(true);
        const again = await startFlowcapd({ dir: fc.dir });
        expect(await again.stop()).toBe(0);
        await again.cleanup();
        expect(srcIds(await readFlows([fc.dir]))).toEqual(Array.from({ length: 90 }, (_, i) => i));
        return;
      } finally {
        await fc.cleanup();
      }
    }
  });

  it('refuses bad options with one line', async () => {
    for (const [args, msg] of [
      [['-t', '1'], /-t 1: expected a whole number of seconds from 2 to 86400$/],
      [['--accept-from', '10.0.0.0/33'], /--accept-from 10\.0\.0\.0\/33: prefix length must be 0\.\.32/],
      [['-s', '0'], /-s 0: the sampling rate is 1:N/],
    ] as const) {
      await expect(startFlowcapd({ args: [...args] })).rejects.toThrow(msg);
    }
    await expect(startFlowcapd({ noDir: true })).rejects.toThrow(/nothing to do: give -l DIR/);
  });

  it('says every command-line error in one line naming the program, the option and the reason, and exits 1', async () => {
    for (const [args, message] of [
      [['--bogus'], "flowcapd: unknown option '--bogus' (see flowcapd --help)"],
      [['-p'], "flowcapd: option '-p, --port <port>' argument missing (see flowcapd --help)"],
      [['-l', '/tmp', '-t', '86401'], 'flowcapd: -t 86401: expected a whole number of seconds from 2 to 86400'],
      [['-l', '/tmp', '-B', '4294967296'], 'flowcapd: -B 4294967296: expected a whole number of bytes from 1024 to 2147483647'],
      [['-l', '/tmp', '--max-exporters', '0'], 'flowcapd: --max-exporters 0: expected a whole number of at least 1'],
      [['-l', '/nonexistent/x'], 'flowcapd: -l /nonexistent/x: no such directory'],
    ] as const) {
      expect(await run(FLOWCAPD, args)).toEqual({ code: 1, stdout: '', stderr: message + '\n' });
    }
  });

  it('--help names each default once, and none for the repeatable options', async () => {
    const help = await run(FLOWCAPD, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toContain('(default: [])');
    const bind = help.stdout.slice(help.stdout.indexOf('-b, --bind'), help.stdout.indexOf('-l, --dir'));
    expect(bind.match(/default:/g)).toHaveLength(1);
  });
});

/** Runs a command to its end; never rejects. */
function run(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

function utcName(ms: number): string {
  return 'flows.' + new Date(ms).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

function fromUtcName(name: string): number {
  const m = /^flows\.(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(name)!;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}
