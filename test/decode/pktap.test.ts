/**
 * LINKTYPE_PKTAP (macOS packet tap): the 108-byte header (little-endian length, record type, DLT, interface and
 * process names), then the packet as the interface's link type. Built byte by byte, decoded, and read by tshark
 * from a capture file of that link type, which must see the same IP packets.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatAddr } from '../../src/decode/address.js';
import { DecodeReason, DecodeStatus } from '../../src/decode/packet.js';
import { pcapBytes } from '../helpers/pcapwrite.js';
import { cat, decode, eth, ipv4, ipv6, le32, tcp, udp, v4, V6_A, V6_B, type Bytes } from './frames.js';

const run = promisify(execFile);
const LT_PKTAP = 258;

/** pktap_header: pth_length, pth_type_next, pth_dlt, pth_ifname[24], then flags, family, lengths, pid, names... */
function pktap(dlt: number, opts: { len?: number; type?: number; ifname?: string } = {}): Bytes {
  const len = opts.len ?? 108;
  const name = Array.from(Buffer.from((opts.ifname ?? 'en0').padEnd(24, '\0')));
  return cat(le32(len), le32(opts.type ?? 1), le32(dlt), name, new Array<number>(len - 36).fill(0));
}

const TCP_V4 = ipv4({ src: v4('192.0.2.7'), dst: v4('203.0.113.9'), proto: 6, payload: tcp(51000, 443, 0x02) });
const UDP_V6 = ipv6({ src: V6_A, dst: V6_B, nh: 17, payload: udp(5353, 5353, [1, 2]) });

const FRAMES: [string, Bytes, string, string, number, number][] = [
  ['Ethernet', cat(pktap(1), eth(0x0800), TCP_V4), '192.0.2.7', '203.0.113.9', 51000, 443],
  ['raw IP (Darwin DLT_RAW 12)', cat(pktap(12, { ifname: 'utun3' }), UDP_V6), '2001:db8::1', '2001:db8::ff', 5353, 5353],
  ['loopback (AF_INET6 30)', cat(pktap(0, { ifname: 'lo0' }), le32(30), UDP_V6), '2001:db8::1', '2001:db8::ff', 5353, 5353],
  ['a longer header', cat(pktap(1, { len: 156 }), eth(0x0800), TCP_V4), '192.0.2.7', '203.0.113.9', 51000, 443],
];

describe('PKTAP', () => {
  it('decodes the packet inside by its DLT, counting the header as link header', () => {
    for (const [name, frame, src, dst, sport, dport] of FRAMES) {
      const v = decode(frame, LT_PKTAP);
      expect(v.status, name).toBe(DecodeStatus.OK);
      expect([formatAddr(v.src, v.ipVersion), formatAddr(v.dst, v.ipVersion), v.srcPort, v.dstPort], name).toEqual([src, dst, sport, dport]);
      expect(v.linkOctets, name).toBe(v.ipLen);
      expect(frame[v.l3Offset]! >> 4, name).toBe(v.ipVersion);
    }
  });

  it('counts a record that is no packet, or a DLT we do not decode, as non-IP; a cut header as too short', () => {
    const noPacket = decode(cat(pktap(1, { type: 0 }), eth(0x0800), TCP_V4), LT_PKTAP);
    expect([noPacket.status, noPacket.reason]).toEqual([DecodeStatus.NON_IP, DecodeReason.LINK_TYPE]);
    const unknown = decode(cat(pktap(147), TCP_V4), LT_PKTAP);
    expect([unknown.status, unknown.linkProto]).toEqual([DecodeStatus.NON_IP, 147]);
    const nested = decode(cat(pktap(258), pktap(1), eth(0x0800), TCP_V4), LT_PKTAP);
    expect(nested.status).toBe(DecodeStatus.NON_IP);
    const frame = FRAMES[0]![1];
    for (let cut = 0; cut < 108 + 14 + 20; cut++) {
      expect(decode(frame.slice(0, cut), LT_PKTAP, { wirelen: frame.length }).status, `cut at ${cut}`).not.toBe(DecodeStatus.OK);
    }
    expect(decode(cat(pktap(1, { len: 60 }), eth(0x0800), TCP_V4), LT_PKTAP).status).toBe(DecodeStatus.TOO_SHORT);
    expect(decode(cat(le32(4000), pktap(1).slice(4), eth(0x0800), TCP_V4), LT_PKTAP).status).toBe(DecodeStatus.TOO_SHORT);
  });

  it('gives the IP packets tshark sees in a PKTAP capture', { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-pktap-'));
    try {
      const file = path.join(dir, 'pktap.pcap');
      fs.writeFileSync(file, pcapBytes(LT_PKTAP, FRAMES.map(([, bytes], i) => ({ bytes, sec: 1_700_000_000 + i }))));
      const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport'];
      const { stdout } = await run('tshark', ['-n', '-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]), '-E', 'separator=/t']);
      const rows = stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
      expect(rows.length).toBe(FRAMES.length);
      rows.forEach((c, i) => {
        const [name, frame] = FRAMES[i]!;
        const v = decode(frame, LT_PKTAP);
        expect([formatAddr(v.src, v.ipVersion), formatAddr(v.dst, v.ipVersion), String(v.srcPort), String(v.dstPort)], name).toEqual([
          c[0] || c[2],
          c[1] || c[3],
          c[4] || c[6],
          c[5] || c[7],
        ]);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
