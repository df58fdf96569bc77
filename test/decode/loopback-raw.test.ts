import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus } from '../../src/decode/packet.js';
import { be32, cat, decode, ipv4, ipv6, le32, udp } from './frames.js';

const NULL = 0;
const LOOP = 108;
const PFLOG = 117;

const ip4 = ipv4({ proto: 17, payload: udp(1234, 53) });
const ip6 = ipv6({ nh: 17, payload: udp(1234, 53) });

describe('NULL / LOOP (BSD loopback, LINKTYPE 0 and 108)', () => {
  const families: [string, number, number][] = [
    ['AF_INET', 2, 4],
    ['AF_INET6 Linux', 10, 6],
    ['AF_INET6 NetBSD/OpenBSD', 24, 6],
    ['AF_INET6 FreeBSD', 28, 6],
    ['AF_INET6 macOS', 30, 6],
  ];
  for (const [name, af, version] of families) {
    for (const [order, header] of [
      ['little-endian', le32(af)],
      ['big-endian', be32(af)],
    ] as const) {
      it(`NULL reads ${name} (${af}) written by a ${order} host`, () => {
        const v = decode(cat(header, version === 4 ? ip4 : ip6), NULL);
        expect(v.status).toBe(DecodeStatus.OK);
        expect(v.ipVersion).toBe(version);
        expect(v.dstPort).toBe(53);
        expect(v.l3Offset).toBe(4);
        expect(v.linkOctets).toBe((version === 4 ? ip4 : ip6).length);
      });
    }
  }

  it('LOOP is always big-endian', () => {
    expect(decode(cat(be32(24), ip6), LOOP).ipVersion).toBe(6);
    const le = decode(cat(le32(2), ip4), LOOP);
    expect(le.status).toBe(DecodeStatus.NON_IP);
    expect(le.linkProto).toBe(0x02000000);
  });

  it('reports other address families as non-IP and a cut header as TOO_SHORT', () => {
    const v = decode(cat(le32(7), ip4), NULL);
    expect([v.status, v.reason, v.linkProto]).toEqual([DecodeStatus.NON_IP, DecodeReason.ADDRESS_FAMILY, 7]);
    expect(decode(cat(le32(2), ip4), NULL, { caplen: 3 }).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('raw IP (LINKTYPE 101, DLT 12 and 14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229)', () => {
  for (const lt of [101, 12, 14]) {
    it(`link type ${lt} picks the IP version by the first nibble`, () => {
      const a = decode(ip4, lt);
      const b = decode(ip6, lt);
      expect([a.status, a.ipVersion, a.l3Offset, a.linkOctets]).toEqual([DecodeStatus.OK, 4, 0, ip4.length]);
      expect([b.status, b.ipVersion, b.dstPort]).toEqual([DecodeStatus.OK, 6, 53]);
      const bad = decode([0x50, ...ip4.slice(1)], lt);
      expect([bad.status, bad.reason, bad.linkProto]).toEqual([DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION, 5]);
      expect(decode([], lt).status).toBe(DecodeStatus.TOO_SHORT);
    });
  }

  it('LINKTYPE_IPV4 accepts only IPv4 and LINKTYPE_IPV6 only IPv6', () => {
    expect(decode(ip4, 228).ipVersion).toBe(4);
    expect(decode(ip6, 228).status).toBe(DecodeStatus.TOO_SHORT);
    expect(decode(ip6, 229).ipVersion).toBe(6);
    expect(decode(ip4, 229).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('PFLOG (LINKTYPE 117)', () => {
  it('skips the header by its own length byte rounded up to 4, and reads the BSD address family', () => {
    const hdr = [61, 24, ...new Array(62).fill(0)];
    const v = decode(cat(hdr, ip6), PFLOG);
    expect([v.status, v.ipVersion, v.l3Offset, v.linkOctets]).toEqual([DecodeStatus.OK, 6, 64, ip6.length]);
    expect(decode(cat([20, 2, 0, 0], ip4), PFLOG).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('NFLOG (LINKTYPE 239)', () => {
  /** A TLV: length (including the 4-byte header) and type in little-endian host order, padded to 4 bytes. */
  function tlv(type: number, value: number[]): number[] {
    const len = 4 + value.length;
    const pad = new Array((4 - (len % 4)) % 4).fill(0);
    return cat([len & 0xff, len >> 8, type & 0xff, type >> 8], value, pad);
  }

  it('finds the packet in the NFULA_PAYLOAD TLV after the others, for IPv4 and IPv6', () => {
    const prefix = tlv(10, [0x66, 0x77, 0x00]); // NFULA_PREFIX "fw", padded
    const hwhdr = tlv(1, [0x08, 0x00, 3]); // NFULA_PACKET_HDR
    const v = decode(cat([2, 0, 0, 1], hwhdr, prefix, tlv(9, ip4)), 239);
    expect([v.status, v.ipVersion, v.dstPort]).toEqual([DecodeStatus.OK, 4, 53]);
    expect(v.l3Offset).toBe(4 + 8 + 8 + 4);
    expect(v.linkOctets).toBe(ip4.length);
    const w = decode(cat([10, 0, 0, 1], tlv(9, ip6)), 239);
    expect([w.status, w.ipVersion]).toEqual([DecodeStatus.OK, 6]);
  });

  it('reports a log message without a payload, or with a TLV length below 4, as TOO_SHORT', () => {
    expect(decode(cat([2, 0, 0, 1], tlv(10, [0x61])), 239).status).toBe(DecodeStatus.TOO_SHORT);
    expect(decode(cat([2, 0, 0, 1], [2, 0, 9, 0], ip4), 239).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('ATM RFC 1483 (LINKTYPE 100)', () => {
  it('reads IP after an LLC/SNAP header at the start of the frame', () => {
    const v = decode(cat([0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd], ip6), 100);
    expect([v.status, v.ipVersion, v.l3Offset]).toEqual([DecodeStatus.OK, 6, 8]);
  });
});

describe('unknown link types', () => {
  it('report UNKNOWN_LINK with the link type', () => {
    const v = decode(ip4, 147);
    expect([v.status, v.reason, v.linkProto]).toEqual([DecodeStatus.UNKNOWN_LINK, DecodeReason.LINK_TYPE, 147]);
  });
});
