/**
 * Live capture for real: tcpreplay sends a capture at a fixed rate into a veth pair whose other end the live
 * probe (`flowprobe -i`) listens on, and the flows a real nfcapd collects carry the same packets and bytes as
 * `flowprobe -r` makes of the same file, with no packet dropped by libpcap or the interface.
 *
 * Nothing is filtered: the namespace's pair has no addresses and IPv6 is off on both ends (test/helpers/netns.ts),
 * so the host end sees exactly what tcpreplay sends, and every flow of both runs is compared.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNfcapd, type NfFlow } from '../helpers/nfcapd.js';
import { createVethNamespace, replay, type VethNamespace } from '../helpers/netns.js';
import { genpcapTool } from '../helpers/shared.js';
import { killProbes, startProbe, statistics, until, waitReady } from '../helpers/probe-process.js';
import { runTool, SOFTFLOWCTL } from '../control/run-ctl.js';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-live-'));
/** Fast enough to take seconds rather than minutes, slow enough that no NIC or kernel queue is the limit. */
const PPS = 2000;
/**
 * No time-based expiry in either run, so every flow leaves at the end as one record per direction. The idle
 * timeouts outlast pcapplusplus-example2's 4.5-year span (six CDP frames from 2010, the rest from 2015): with
 * `-r` the capture's clock would split a key seen in both years, while live all packets arrive within seconds.
 */
const NO_EXPIRY = ['tcp', 'tcp.rst', 'tcp.fin', 'udp', 'icmp', 'general'].flatMap((t) => ['-t', `${t}=300w`]).concat('-t', 'maxlife=0');

let veth: VethNamespace | null = null;
let synthetic = '';

beforeAll(async () => {
  synthetic = path.join(tmp, 'genpcap-5k.pcap');
  // genpcap: IPv6, 802.1Q, ICMP and TCP with FIN/RST, 128-byte snaps (every frame fits the veth's MTU).
  execFileSync('python3', [genpcapTool(), synthetic, '--packets', '5000', '--flows', '500', '--seed', '4']);
  veth = await createVethNamespace(String(process.pid % 100000));
}, 60_000);

afterAll(async () => {
  await killProbes();
  await veth?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** What must agree between the live and the file run: the key and the counters. */
function keyed(flows: NfFlow[]): string[] {
  return flows.map((f) => `${f.proto} ${f.srcAddr}:${f.srcPort} > ${f.dstAddr}:${f.dstPort} packets ${f.packets} bytes ${f.bytes}`).sort();
}

describe('live capture on a veth pair equals flowprobe -r on the same capture', () => {
  it.each([
    ['pcapplusplus-example2.pcap', path.join(ROOT, 'pcaps/pcapplusplus-example2.pcap')],
    ['genpcap 5,000 packets', ''],
  ])('%s replayed at a fixed rate: same flows, packets and bytes, zero drops', async (_name, given) => {
    const file = given || synthetic;
    const v = veth!;
    const sock = path.join(tmp, `${path.basename(file)}.ctl`);
    const live = await startNfcapd();
    const offline = await startNfcapd();
    try {
      // -B: room for several seconds of this rate, so a busy shared machine pausing the probe costs no packets.
      const probe = startProbe(['-i', v.hostIf, '-d', '-n', `127.0.0.1:${live.port}`, '-v', '9', '-c', sock, '-B', String(16 << 20), ...NO_EXPIRY]);
      await waitReady(probe, sock);

      const t0 = Date.now();
      const r = await replay(v, file, PPS);
      const t1 = Date.now();
      expect(r.failed, r.output).toBe(0);
      const want = Number(execFileSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' }).match(/Number of packets:\s+(\d+)/)![1]);
      expect(r.sent).toBe(want);

      // The kernel has handed every frame to the capture, and the probe has looked at each of them.
      const st = await until(
        `the probe to process ${r.sent} packets`,
        () => statistics(sock),
        (s) => s.libpcap?.received === r.sent && s.packetsProcessed + s.ignoredPackets === r.sent,
      );
      expect(st.libpcap).toEqual({ received: r.sent, dropped: 0, ifDropped: 0 });

      const bye = await runTool(SOFTFLOWCTL, ['-c', sock, 'shutdown']);
      expect(bye.stdout).toBe(`flowprobe[${probe.pid}]: Shutting down gracefully...\n`);
      expect(await probe.waitExit()).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(sock)).toBe(false);

      const fromFile = startProbe(['-r', file, '-n', `127.0.0.1:${offline.port}`, '-v', '9', '--no-progress', ...NO_EXPIRY]);
      expect((await fromFile.waitExit(120_000)).code, fromFile.stderr()).toBe(0);
      expect(fromFile.stdout()).toContain(`Packets read: ${r.sent}\n`);
      expect(fromFile.stdout()).toContain(`Packets processed: ${st.packetsProcessed}\n`);

      const liveFlows = await live.flows();
      const fileFlows = await offline.flows();
      expect(fileFlows.length).toBeGreaterThan(100);
      expect(keyed(liveFlows)).toEqual(keyed(fileFlows));
      expect(liveFlows.reduce((n, f) => n + f.packets, 0)).toBe(st.packetsProcessed);
      expect(live.log()).toMatch(/Sequence Errors: 0, Bad Packets: 0/);
      // Live flows carry the kernel's receive times, so they lie within the replay.
      for (const f of liveFlows) {
        expect(f.startMs).toBeGreaterThanOrEqual(t0 - 1000);
        expect(f.endMs).toBeLessThanOrEqual(t1 + 1000);
      }
    } finally {
      // A probe left running by a failed assertion must not outlive its case.
      await killProbes();
      await live.cleanup();
      await offline.cleanup();
    }
  }, 120_000);
});
