/**
 * Live capture for real, below the probe: tcpreplay sends packets of a capture into a veth pair and openLive's
 * batches, read when the event loop says the device is readable, carry each of them in order with its bytes,
 * cut at the snapshot length, whatever the batch buffer's size (a batch that holds hundreds of packets, one that
 * holds a packet and a half, so a packet waits for the next batch). Needs root (CAP_NET_ADMIN), as the live
 * probe's tests do.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { openLive } from '../../src/capture/live.js';
import { openFile } from '../../src/capture/file.js';
import type { PacketSource } from '../../src/capture/source.js';
import { BATCH_HEADER, OFF_CAPLEN, OFF_WIRELEN, batchRecordSize } from '../../src/capture/batch.js';
import { createVethNamespace, type VethNamespace } from '../helpers/netns.js';

const FILE = path.resolve(__dirname, '../../pcaps/pcapplusplus-example2.pcap');
/** A third of these frames are longer than SNAPLEN; none is longer than the veth's MTU. */
const PACKETS = 1500;
const SNAPLEN = 512;
const PPS = 5000;

interface Packet {
  caplen: number;
  wirelen: number;
  bytes: Buffer;
}

/** Every packet of the batch now in src.buf, as copies. */
function unpack(src: PacketSource, n: number, into: Packet[]): void {
  let off = 0;
  for (let i = 0; i < n; i++) {
    const caplen = src.buf.readUInt32LE(off + OFF_CAPLEN);
    const wirelen = src.buf.readUInt32LE(off + OFF_WIRELEN);
    into.push({ caplen, wirelen, bytes: Buffer.from(src.buf.subarray(off + BATCH_HEADER, off + BATCH_HEADER + caplen)) });
    off += batchRecordSize(caplen);
  }
}

function fromFile(): Packet[] {
  const src = openFile(FILE);
  const out: Packet[] = [];
  try {
    for (let n = src.next(); n > 0 && out.length < PACKETS; n = src.next()) unpack(src, n, out);
  } finally {
    src.close();
  }
  return out.slice(0, PACKETS);
}

let veth: VethNamespace | null = null;
let sent: Packet[] = [];

beforeAll(async () => {
  sent = fromFile();
  veth = await createVethNamespace(`c${process.pid % 100000}`);
}, 60_000);

afterAll(async () => {
  await veth?.remove();
});

describe('live capture in batches', () => {
  it.each([
    ['the default batch buffer', undefined, undefined],
    ['a buffer of a packet and a half at the snapshot length', SNAPLEN + 300, undefined],
    ['batches of at most 7 packets', undefined, 7],
  ])('%s: every packet tcpreplay sent, in order, with its bytes up to the snapshot length', async (_name, batchBytes?: number, batchPackets?: number) => {
    const v = veth!;
    const src = openLive(v.hostIf, { snaplen: SNAPLEN, batchBytes, batchPackets });
    const got: Packet[] = [];
    const batches: number[] = [];
    try {
      src.watch(() => {
        for (let n = src.next(); n > 0; n = src.next()) {
          batches.push(n);
          unpack(src, n, got);
        }
      });
      const { stdout, stderr } = await v.exec('tcpreplay', ['-i', v.nsIf, `--pps=${PPS}`, `--limit=${PACKETS}`, FILE], 120_000);
      expect(stdout + stderr).toMatch(new RegExp(`Successful packets:\\s+${PACKETS}\\b`));
      // Blocks are handed over within the 20 ms block timeout; allow the event loop far more.
      for (let i = 0; i < 100 && got.length < PACKETS; i++) await new Promise((r) => setTimeout(r, 20));
      const st = src.stats()!;
      expect(st.dropped + st.ifDropped).toBe(0);
      expect(st.truncated).toBe(0);
    } finally {
      src.unwatch();
      src.close();
    }
    expect(got.length).toBe(PACKETS);
    for (let i = 0; i < PACKETS; i++) {
      const want = sent[i]!;
      const have = got[i]!;
      // tcpreplay sends what the file captured; the live side keeps SNAPLEN of it and knows the whole length.
      expect(have.wirelen, `packet ${i}`).toBe(want.caplen);
      expect(have.caplen, `packet ${i}`).toBe(Math.min(want.caplen, SNAPLEN));
      expect(have.bytes.equals(want.bytes.subarray(0, have.caplen)), `packet ${i} bytes`).toBe(true);
    }
    if (batchPackets) expect(Math.max(...batches)).toBeLessThanOrEqual(batchPackets);
  }, 60_000);
});
