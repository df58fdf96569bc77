/**
 * 802.11 frames and the monitor-mode headers in front of them (src/decode/ieee80211.ts), built byte by byte from
 * IEEE 802.11-2020 §9.2-9.3, radiotap.org, the PPI and AVS header layouts: what makes flows (unprotected data
 * frames carrying LLC/SNAP IP, whatever the DS bits, QoS, HT Control, 4th address, FCS or padding) and what is
 * non-IP (management, control, null, protected, A-MSDU). Then tshark, as the judge, reads the same frames written
 * to capture files of each link type and must see the same IP packets.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatAddr } from '../../src/decode/address.js';
import { formatPacketLine } from '../../src/decode/format.js';
import { DecodeReason, DecodeStatus, type PacketView } from '../../src/decode/packet.js';
import { pcapBytes } from '../helpers/pcapwrite.js';
import { be16, be32, cat, decode, ipv4, ipv6, le32, tcp, udp, v4, V6_A, V6_B, type Bytes } from './frames.js';

const run = promisify(execFile);

const LT_80211 = 105;
const LT_PRISM = 119;
const LT_RADIOTAP = 127;
const LT_AVS = 163;
const LT_PPI = 192;

const AP: Bytes = [0x02, 0x11, 0x11, 0x11, 0x11, 0x11];
const STA: Bytes = [0x02, 0x22, 0x22, 0x22, 0x22, 0x22];
const HOST: Bytes = [0x02, 0x33, 0x33, 0x33, 0x33, 0x33];
const FAR: Bytes = [0x02, 0x44, 0x44, 0x44, 0x44, 0x44];

function le16(n: number): Bytes {
  return [n & 0xff, (n >> 8) & 0xff];
}

/** RFC 1042 LLC/SNAP in front of an ethertype's payload. */
function snap(ethertype: number, payload: Bytes): Bytes {
  return cat([0xaa, 0xaa, 0x03, 0, 0, 0], be16(ethertype), payload);
}

interface WlanOpts {
  type?: number;
  subtype?: number;
  toDs?: boolean;
  fromDs?: boolean;
  protect?: boolean;
  order?: boolean;
  /** QoS Control's first byte (TID, EOSP, ack policy, A-MSDU present in bit 7). */
  qos?: number;
  addrs: Bytes[];
  body?: Bytes;
}

/** §9.2.3: frame control (LE fields), duration, addresses 1-3, sequence control, [address 4], [QoS], [HTC], body. */
function wlan(o: WlanOpts): Bytes {
  const type = o.type ?? 2;
  const subtype = o.subtype ?? 0;
  const flags = (o.toDs ? 1 : 0) | (o.fromDs ? 2 : 0) | (o.protect ? 0x40 : 0) | (o.order ? 0x80 : 0);
  const parts: Bytes[] = [[(subtype << 4) | (type << 2), flags], le16(0x2c), o.addrs[0]!, o.addrs[1]!, o.addrs[2]!, le16(0x1230)];
  if (o.toDs && o.fromDs) parts.push(o.addrs[3]!);
  if (subtype & 0x8) parts.push([o.qos ?? 0, 0]);
  if (subtype & 0x8 && o.order) parts.push([0, 0, 0, 0]);
  parts.push(o.body ?? []);
  return cat(...parts);
}

/** Radiotap header with TSFT and Flags (and, with `ext`, a second, empty presence word). */
function radiotap(flags: number, ext = false): Bytes {
  const present = 0x1 | 0x2 | (ext ? 0x80000000 : 0);
  const words = ext ? cat(le32(present), le32(0)) : le32(present);
  // version, pad, length, presence word(s), then TSFT aligned to 8, then Flags.
  const head = 4 + words.length;
  const pad = ((head + 7) & ~7) - head;
  const len = head + pad + 8 + 1;
  return cat([0, 0], le16(len), words, new Array<number>(pad).fill(0), new Array<number>(8).fill(0x5a), [flags]);
}

function ppi(dlt: number): Bytes {
  return cat([0, 0], le16(8), le32(dlt));
}

const UDP_V4 = ipv4({ src: v4('192.0.2.10'), dst: v4('198.51.100.20'), proto: 17, payload: udp(5353, 53, [1, 2, 3, 4]) });
const TCP_V6 = ipv6({ src: V6_A, dst: V6_B, nh: 6, payload: tcp(44321, 443, 0x12) });
const TCP_V4 = ipv4({ src: v4('203.0.113.7'), dst: v4('192.0.2.99'), proto: 6, payload: tcp(40000, 80, 0x18, [9, 9]) });

/** A station's upload through its AP (To DS): DA is address 3. */
const TO_DS = wlan({ toDs: true, addrs: [AP, STA, HOST], body: snap(0x0800, UDP_V4) });
/** The AP's delivery to a station (From DS), QoS with an HT Control field: SA is address 3. */
const FROM_DS_QOS_HTC = wlan({ fromDs: true, subtype: 8, order: true, qos: 0x05, addrs: [STA, AP, HOST], body: snap(0x86dd, TCP_V6) });
/** A WDS/mesh hop (both DS bits): DA address 3, SA address 4. */
const FOUR_ADDR = wlan({ toDs: true, fromDs: true, subtype: 8, addrs: [AP, STA, HOST, FAR], body: snap(0x0800, TCP_V4) });
/** An ad hoc (IBSS) frame: no DS bits, DA address 1, SA address 2. */
const IBSS = wlan({ addrs: [HOST, STA, AP], body: snap(0x0800, TCP_V4) });

function mac(v: PacketView, which: 'src' | 'dst'): Bytes {
  const hi = which === 'src' ? v.srcMacHi : v.dstMacHi;
  const lo = which === 'src' ? v.srcMacLo : v.dstMacLo;
  return [hi >> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
}

describe('802.11 data frames', () => {
  it('finds the IP packet and the frame\'s SA and DA by the DS bits', () => {
    const cases: [string, Bytes, Bytes, Bytes, string, string, number, number][] = [
      ['To DS', TO_DS, STA, HOST, '192.0.2.10', '198.51.100.20', 5353, 53],
      ['From DS, QoS, +HTC', FROM_DS_QOS_HTC, HOST, STA, '2001:db8::1', '2001:db8::ff', 44321, 443],
      ['four addresses', FOUR_ADDR, FAR, HOST, '203.0.113.7', '192.0.2.99', 40000, 80],
      ['IBSS', IBSS, STA, HOST, '203.0.113.7', '192.0.2.99', 40000, 80],
    ];
    for (const [name, frame, sa, da, src, dst, sport, dport] of cases) {
      const v = decode(frame, LT_80211);
      expect(v.status, name).toBe(DecodeStatus.OK);
      expect(formatAddr(v.src, v.ipVersion), name).toBe(src);
      expect(formatAddr(v.dst, v.ipVersion), name).toBe(dst);
      expect([v.srcPort, v.dstPort], name).toEqual([sport, dport]);
      expect(mac(v, 'src'), name).toEqual(sa);
      expect(mac(v, 'dst'), name).toEqual(da);
      // softflowd's link count: everything before the IP header is link header.
      expect(v.linkOctets, name).toBe(v.ipLen);
    }
  });

  it('reads through radiotap, with its FCS flag, data padding and a chained presence word', () => {
    const fcs = [0xde, 0xad, 0xbe, 0xef];
    const withFcs = decode(cat(radiotap(0x10), TO_DS, fcs), LT_RADIOTAP);
    expect(withFcs.status).toBe(DecodeStatus.OK);
    expect([withFcs.srcPort, withFcs.dstPort]).toEqual([5353, 53]);
    expect(withFcs.linkOctets).toBe(withFcs.ipLen);

    // A QoS header is 26 bytes; with the pad flag the body starts at 28.
    const qos = wlan({ fromDs: true, subtype: 8, addrs: [STA, AP, HOST] });
    const padded = decode(cat(radiotap(0x20, true), qos, [0, 0], snap(0x0800, TCP_V4)), LT_RADIOTAP);
    expect(padded.status).toBe(DecodeStatus.OK);
    expect(formatAddr(padded.src, 4)).toBe('203.0.113.7');
    expect(mac(padded, 'src')).toEqual(HOST);
    // Without the flag the same two bytes would be read as LLC.
    const unpadded = decode(cat(radiotap(0, true), qos, [0, 0], snap(0x0800, TCP_V4)), LT_RADIOTAP);
    expect(unpadded.status).toBe(DecodeStatus.NON_IP);
    expect(unpadded.reason).toBe(DecodeReason.LLC);
  });

  it('reads through PPI (802.11 and Ethernet inside), AVS and Prism headers', () => {
    const inPpi = decode(cat(ppi(LT_80211), FOUR_ADDR), LT_PPI);
    expect(inPpi.status).toBe(DecodeStatus.OK);
    expect(mac(inPpi, 'src')).toEqual(FAR);
    const ethInPpi = decode(cat(ppi(1), HOST, STA, be16(0x0800), UDP_V4), LT_PPI);
    expect(ethInPpi.status).toBe(DecodeStatus.OK);
    expect([mac(ethInPpi, 'src'), mac(ethInPpi, 'dst')]).toEqual([STA, HOST]);
    expect(ethInPpi.linkOctets).toBe(ethInPpi.ipLen);
    const other = decode(cat(ppi(147), TO_DS), LT_PPI);
    expect([other.status, other.reason, other.linkProto]).toEqual([DecodeStatus.NON_IP, DecodeReason.LINK_TYPE, 147]);

    const avs = decode(cat(be32(0x80211001), be32(64), new Array<number>(56).fill(0), FROM_DS_QOS_HTC), LT_AVS);
    expect(avs.status).toBe(DecodeStatus.OK);
    expect(avs.ipVersion).toBe(6);
    // A Prism-typed file may hold AVS headers (libpcap's note); otherwise the header is 144 bytes.
    expect(decode(cat(be32(0x80211001), be32(64), new Array<number>(56).fill(0), TO_DS), LT_PRISM).status).toBe(DecodeStatus.OK);
    const prism = decode(cat(le32(0x41), le32(144), new Array<number>(136).fill(0), TO_DS), LT_PRISM);
    expect(prism.status).toBe(DecodeStatus.OK);
    expect([prism.srcPort, prism.dstPort]).toEqual([5353, 53]);
  });

  it('counts frames without an IP body as non-IP, saying what they were', () => {
    const beacon = wlan({ type: 0, subtype: 8, addrs: [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], AP, AP], body: new Array<number>(12).fill(0) });
    const ack = cat([0xd4, 0x00], le16(0), STA);
    const nullData = wlan({ subtype: 4, toDs: true, addrs: [AP, STA, AP] });
    const protectedData = wlan({ toDs: true, protect: true, addrs: [AP, STA, HOST], body: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    const amsdu = wlan({ fromDs: true, subtype: 8, qos: 0x80, addrs: [STA, AP, HOST], body: cat(STA, HOST, be16(20), snap(0x0800, UDP_V4)) });
    const cases: [string, Bytes, RegExp][] = [
      ['beacon', beacon, /802\.11 management frame/],
      ['ACK', ack, /802\.11 control frame/],
      ['null data', nullData, /data frame without a body/],
      ['protected', protectedData, /protected \(encrypted\) data frame/],
      ['A-MSDU', amsdu, /A-MSDU data frame/],
    ];
    for (const [name, frame, text] of cases) {
      const v = decode(frame, LT_80211);
      expect([v.status, v.reason], name).toEqual([DecodeStatus.NON_IP, DecodeReason.WLAN_FRAME]);
      expect(formatPacketLine(v), name).toMatch(text);
    }
    // Through radiotap too, and the protected frame's MACs are still known.
    const v = decode(cat(radiotap(0), protectedData), LT_RADIOTAP);
    expect(v.status).toBe(DecodeStatus.NON_IP);
    expect(mac(v, 'src')).toEqual(STA);
  });

  it('says too short for a cut header at every length, and never reads past the capture', () => {
    for (const [lt, frame] of [
      [LT_80211, FOUR_ADDR],
      [LT_RADIOTAP, cat(radiotap(0x10, true), FROM_DS_QOS_HTC, [1, 2, 3, 4])],
      [LT_PPI, cat(ppi(LT_80211), TO_DS)],
      [LT_AVS, cat(be32(0x80211001), be32(64), new Array<number>(56).fill(0), TO_DS)],
    ] as const) {
      const whole = decode(frame, lt);
      expect(whole.status).toBe(DecodeStatus.OK);
      const ipHeader = whole.l3Offset + (whole.ipVersion === 4 ? 20 : 40);
      for (let cut = 0; cut < ipHeader; cut++) {
        const v = decode(frame.slice(0, cut), lt, { wirelen: frame.length });
        expect(v.status, `link type ${lt} cut at ${cut}`).not.toBe(DecodeStatus.OK);
      }
    }
    // A radiotap length past the capture, or below its own minimum.
    expect(decode(cat([0, 0], le16(200), le32(0)), LT_RADIOTAP).status).toBe(DecodeStatus.TOO_SHORT);
    expect(decode(cat([0, 0], le16(4), le32(0), TO_DS), LT_RADIOTAP).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('802.11 captures against tshark', () => {
  const files: [string, number, Bytes[]][] = [
    ['ieee80211', LT_80211, [TO_DS, FROM_DS_QOS_HTC, FOUR_ADDR, IBSS]],
    ['radiotap', LT_RADIOTAP, [cat(radiotap(0x10), TO_DS, [1, 2, 3, 4]), cat(radiotap(0), FROM_DS_QOS_HTC), cat(radiotap(0x00, true), IBSS)]],
    ['ppi', LT_PPI, [cat(ppi(LT_80211), FOUR_ADDR), cat(ppi(LT_80211), TO_DS)]],
    ['avs', LT_AVS, [cat(be32(0x80211001), be32(64), new Array<number>(56).fill(0), FROM_DS_QOS_HTC)]],
  ];

  it.each(files)('%s: every frame is the IP packet tshark sees', { timeout: 60_000 }, async (name, lt, frames) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-80211-'));
    try {
      const file = path.join(dir, `${name}.pcap`);
      fs.writeFileSync(file, pcapBytes(lt, frames.map((bytes, i) => ({ bytes, sec: 1_700_000_000 + i, usec: i }))));
      const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'wlan.sa', 'wlan.da'];
      const { stdout } = await run('tshark', ['-n', '-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f]), '-E', 'separator=/t']);
      const rows = stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
      expect(rows.length).toBe(frames.length);
      rows.forEach((c, i) => {
        const v = decode(frames[i]!, lt);
        expect(v.status, `${name} #${i + 1}`).toBe(DecodeStatus.OK);
        const hex = (b: Bytes): string => b.map((x) => x.toString(16).padStart(2, '0')).join(':');
        expect(
          [formatAddr(v.src, v.ipVersion), formatAddr(v.dst, v.ipVersion), String(v.srcPort), String(v.dstPort), hex(mac(v, 'src')), hex(mac(v, 'dst'))],
          `${name} #${i + 1}`,
        ).toEqual([c[0] || c[2], c[1] || c[3], c[4] || c[6], c[5] || c[7], c[8], c[9]]);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
