/**
 * Bad input never crashes the probe: every prefix of every kind of frame, random bytes and mutated frames decode
 * to a status without throwing, without reading past caplen, and without leaving fields of the previous packet.
 */
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';
import { DecodeStatus, PacketView } from '../../src/decode/packet.js';
import {
  ah,
  be16,
  be32,
  cat,
  eth,
  ext,
  fragHdr,
  icmp,
  ipv4,
  ipv6,
  le32,
  MAC_A,
  mpls,
  tag,
  tcp,
  udp,
} from './frames.js';

const samples: [string, number, number[]][] = [
  ['Ethernet IPv4 TCP', 1, cat(eth(0x0800), ipv4({ proto: 6, options: [1, 1, 1, 0], payload: tcp(1, 2, 0x12) }))],
  ['QinQ IPv6 ext chain', 1, cat(eth(0x88a8), tag(1, 0x8100), tag(2, 0x86dd), ipv6({ nh: 0, payload: cat(ext(43, 16), fragHdr(60, 0, true), ext(51, 8), ah(17), udp(3, 4)) }))],
  ['MPLS pseudowire', 1, cat(eth(0x8847), mpls(1, false), mpls(2, true), [0, 0, 0, 0], eth(0x8100), tag(3, 0x0800), ipv4({ proto: 1, payload: icmp(8, 0) }))],
  ['PPPoE IPv6', 1, cat(eth(0x8864), [0x11, 0, 0, 1], be16(60), be16(0x0057), ipv6({ nh: 58, payload: icmp(135, 0) }))],
  ['802.1ah and Cisco MetaData', 1, cat(eth(0x88e7), [0, 0, 0, 1], eth(0x8909), [1, 1, 0, 1, 0, 2], be16(0x0800), ipv4({ proto: 6, payload: tcp(1, 2, 0x10) }))],
  ['LLC/SNAP', 1, cat(eth(40), [0xaa, 0xaa, 3, 0, 0, 0, 8, 0], ipv4({ proto: 17, payload: udp(5, 6) }))],
  ['SLL', 113, cat(be16(0), be16(1), be16(6), MAC_A, [0, 0], be16(0x0800), ipv4({ proto: 132, payload: udp(7, 8) }))],
  ['SLL2', 276, cat(be16(0x86dd), be16(0), be32(1), be16(1), [0, 6], MAC_A, [0, 0], ipv6({ nh: 6, payload: tcp(9, 10, 2) }))],
  ['NULL', 0, cat(le32(30), ipv6({ nh: 44, payload: cat(fragHdr(17, 3, false), udp(1, 1)) }))],
  ['LOOP', 108, cat(be32(2), ipv4({ proto: 6, frag: 0x2000, payload: tcp(11, 12, 1) }))],
  ['PPP MPLS', 9, cat([0xff, 3], be16(0x0281), mpls(5, true), ipv4({ proto: 17, payload: udp(1, 2) }))],
  ['Cisco HDLC', 104, cat([0x0f, 0], be16(0x86dd), ipv6({ nh: 17, payload: udp(1, 2) }))],
  ['PFLOG', 117, cat([61, 2], new Array(62).fill(0), ipv4({ proto: 1, payload: icmp(0, 0) }))],
  ['raw', 101, ipv4({ proto: 47, payload: [0, 0, 8, 0] })],
  ['NFLOG', 239, cat([10, 0, 0, 0], [8, 0, 1, 0, 0x86, 0xdd, 0, 0], [48, 0, 9, 0], ipv6({ nh: 17, payload: udp(1, 2) }))],
  ['ATM RFC 1483', 100, cat([0xaa, 0xaa, 3, 0, 0, 0, 8, 0], ipv4({ proto: 17, payload: udp(1, 2) }))],
];

/** Every field decodePacket writes, for comparing two decodes. */
function snapshot(v: PacketView): unknown[] {
  return [
    v.status, v.reason, v.linkProto, v.linkType, v.truncated, v.ipVersion, ...v.src, ...v.dst, v.protocol,
    v.srcPort, v.dstPort, v.tcpFlags, v.tos, v.ttl, v.flowLabel, v.ipLen, v.linkOctets, v.l3Offset, v.fragment,
    v.icmpType, v.icmpCode, v.vlan, v.vlanInner, v.srcMacHi, v.srcMacLo, v.dstMacHi, v.dstMacLo, v.mplsDepth,
    ...v.mpls, v.caplen, v.wirelen,
  ];
}

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** What must hold after any decode; plain checks (expect() per packet would dominate the run time). */
function invariantBroken(v: PacketView, caplen: number): string | null {
  if (v.status === DecodeStatus.OK) {
    if (v.ipVersion !== 4 && v.ipVersion !== 6) return `OK with ipVersion ${v.ipVersion}`;
    if (v.l3Offset + (v.ipVersion === 4 ? 20 : 40) > caplen) return `IP header at ${v.l3Offset} beyond caplen ${caplen}`;
    if (v.mplsDepth > 10) return `mplsDepth ${v.mplsDepth}`;
    return null;
  }
  if (v.status !== DecodeStatus.NON_IP && v.status !== DecodeStatus.TOO_SHORT && v.status !== DecodeStatus.UNKNOWN_LINK) {
    return `status ${v.status}`;
  }
  if (v.ipVersion !== 0 || v.protocol !== 0 || v.srcPort !== 0 || v.dstPort !== 0) return 'IP fields set on a failed decode';
  return null;
}

function checkInvariants(v: PacketView, caplen: number, what: string): void {
  const broken = invariantBroken(v, caplen);
  if (broken !== null) expect.fail(`${what}: ${broken}`);
}

describe('decodePacket on hostile and truncated input', () => {
  it('decodes every prefix of every sample without throwing, and reads nothing past caplen', () => {
    const v = new PacketView();
    const w = new PacketView();
    for (const [name, linkType, frame] of samples) {
      for (let caplen = 0; caplen <= frame.length; caplen++) {
        // Same first caplen bytes; after them, the real frame in one buffer and 0xa5 filler in the other.
        const real = Uint8Array.from(frame);
        const filler = Uint8Array.from(frame).fill(0xa5, caplen);
        decodePacket(real, 0, caplen, frame.length, linkType, v);
        decodePacket(filler, 0, caplen, frame.length, linkType, w);
        checkInvariants(v, caplen, `${name} at caplen ${caplen}`);
        expect(snapshot(w), `${name} at caplen ${caplen}`).toEqual(snapshot(v));
      }
      decodePacket(Uint8Array.from(frame), 0, frame.length, frame.length, linkType, v);
      expect(v.status, name).toBe(DecodeStatus.OK);
      expect(v.truncated, name).toBe(false);
    }
  });

  it('survives caplen beyond the buffer, negative offsets and an empty buffer', () => {
    const v = new PacketView();
    for (const [, linkType, frame] of samples) {
      const buf = Uint8Array.from(frame);
      expect(() => decodePacket(buf, 0, frame.length + 1000, frame.length, linkType, v)).not.toThrow();
      expect(v.status).toBe(DecodeStatus.OK);
      expect(() => decodePacket(buf, -4, 10, 10, linkType, v)).not.toThrow();
      expect(v.status).toBe(DecodeStatus.TOO_SHORT);
      expect(() => decodePacket(new Uint8Array(0), 0, 0, 0, linkType, v)).not.toThrow();
      expect(v.status).toBe(DecodeStatus.TOO_SHORT);
    }
  });

  it('decodes 10,000 random and mutated frames per link type to a status, never throwing', () => {
    const next = rng(0x5eed);
    const v = new PacketView();
    const w = new PacketView();
    const linkTypes = [0, 1, 9, 12, 14, 50, 51, 100, 101, 104, 108, 113, 117, 228, 229, 239, 276];
    const seen = new Set<DecodeStatus>();
    for (const linkType of linkTypes) {
      for (let i = 0; i < 10000; i++) {
        let buf: Uint8Array;
        if (i % 2 === 0) {
          buf = new Uint8Array(next() % 200);
          for (let j = 0; j < buf.length; j++) buf[j] = next() & 0xff;
        } else {
          const [, , frame] = samples[next() % samples.length];
          buf = Uint8Array.from(frame);
          const flips = 1 + (next() % 4);
          for (let k = 0; k < flips; k++) buf[next() % buf.length] = next() & 0xff;
        }
        const caplen = next() % (buf.length + 1);
        decodePacket(buf, 0, caplen, buf.length, linkType, v);
        checkInvariants(v, caplen, `link type ${linkType} input ${i}`);
        seen.add(v.status);
        // The same bytes decoded after some other packet give the same view: nothing stale survives.
        const copy = buf.slice();
        decodePacket(Uint8Array.from(samples[1][2]), 0, samples[1][2].length, 200, 1, w);
        decodePacket(copy, 0, caplen, buf.length, linkType, w);
        if (snapshot(w).join() !== snapshot(v).join()) expect(snapshot(w)).toEqual(snapshot(v));
      }
    }
    expect(seen.has(DecodeStatus.OK) && seen.has(DecodeStatus.TOO_SHORT) && seen.has(DecodeStatus.NON_IP)).toBe(true);
  });

  it('resets every field: a non-IP frame after a fully decoded one looks as it does in a fresh view', () => {
    const reused = new PacketView();
    const rich = samples[2][2];
    decodePacket(Uint8Array.from(rich), 0, rich.length, rich.length, 1, reused);
    expect(reused.mplsDepth).toBe(2);
    const arp = cat(eth(0x0806), new Array(46).fill(0));
    decodePacket(Uint8Array.from(arp), 0, arp.length, arp.length, 1, reused);
    const fresh = new PacketView();
    decodePacket(Uint8Array.from(arp), 0, arp.length, arp.length, 1, fresh);
    expect(snapshot(reused)).toEqual(snapshot(fresh));

    const unknown = new PacketView();
    decodePacket(Uint8Array.from(rich), 0, rich.length, rich.length, 1, reused);
    decodePacket(Uint8Array.from(rich), 0, rich.length, rich.length, 999, reused);
    decodePacket(Uint8Array.from(rich), 0, rich.length, rich.length, 999, unknown);
    expect(snapshot(reused)).toEqual(snapshot(unknown));
  });
});
