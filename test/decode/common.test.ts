/**
 * The straight run for common Ethernet frames (src/decode/common.ts) against the general decoder: the same view,
 * field for field, for real frames, hand-built ones at each of its edges, and mutated ones, whatever the view held
 * from the packet before.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCommonEthernet } from '../../src/decode/common.js';
import { decodeLayers, decodePacket } from '../../src/decode/index.js';
import { PacketView } from '../../src/decode/packet.js';
import { builtFrames, realFrames, type Frame } from '../fuzz/lib/corpus.js';
import { suiteParams } from '../fuzz/lib/budget.js';
import { decodeCaseArb, snapshot, type DecodeCase } from '../fuzz/props/decode.js';
import { be16, cat, eth, ext, icmp, ipv4, ipv6, mpls, tag, tcp, udp, v4, V6_A, V6_B } from './frames.js';

const ETHERNET = 1;

let frames: Frame[];
beforeAll(() => {
  frames = [...realFrames(), ...builtFrames()];
});

/** Decodes `cur` after `prev` into two views, through decodePacket and through decodeLayers alone. */
function both(prev: DecodeCase, cur: DecodeCase): { fast: number[]; general: number[] } {
  const a = new PacketView();
  const b = new PacketView();
  decodePacket(prev.bytes, 0, prev.caplen, prev.wirelen, prev.linkType, a);
  decodeLayers(prev.bytes, 0, prev.caplen, prev.wirelen, prev.linkType, b);
  decodePacket(cur.bytes, 0, cur.caplen, cur.wirelen, cur.linkType, a);
  decodeLayers(cur.bytes, 0, cur.caplen, cur.wirelen, cur.linkType, b);
  return { fast: snapshot(a), general: snapshot(b) };
}

function taken(bytes: Uint8Array, caplen = bytes.length): boolean {
  return decodeCommonEthernet(bytes, 0, caplen, caplen + 4, new PacketView());
}

describe('common Ethernet frames decoded in one run', () => {
  const A = v4('192.0.2.1');
  const B = v4('198.51.100.7');
  const tcp4 = cat(eth(0x0800), ipv4({ proto: 6, src: A, dst: B, payload: tcp(40000, 443, 0x18, [1, 2, 3]) }));
  const edges: [string, number[], boolean][] = [
    ['IPv4 TCP', tcp4, true],
    ['IPv4 UDP behind a VLAN tag', cat(eth(0x8100), tag(42, 0x0800), ipv4({ proto: 17, src: A, dst: B, payload: udp(53, 5353) })), true],
    ['IPv4 ICMP', cat(eth(0x0800), ipv4({ proto: 1, src: A, dst: B, payload: icmp(8, 0) })), true],
    ['IPv6 TCP', cat(eth(0x86dd), ipv6({ nh: 6, src: V6_A, dst: V6_B, tc: 0xb8, flow: 0x12345, payload: tcp(1, 2, 0x02) })), true],
    ['IPv6 ICMPv6', cat(eth(0x86dd), ipv6({ nh: 58, src: V6_A, dst: V6_B, payload: icmp(128, 0) })), true],
    ['IPv6 behind an extension header', cat(eth(0x86dd), ipv6({ nh: 0, src: V6_A, dst: V6_B, payload: cat(ext(6), tcp(1, 2, 0x02)) })), false],
    ['IPv4 with options', cat(eth(0x0800), ipv4({ proto: 6, src: A, dst: B, options: [1, 1, 1, 0], payload: tcp(1, 2, 0x10) })), false],
    ['an IPv4 first fragment', cat(eth(0x0800), ipv4({ proto: 17, src: A, dst: B, frag: 0x2000, payload: udp(1, 2) })), false],
    ['an IPv4 later fragment', cat(eth(0x0800), ipv4({ proto: 17, src: A, dst: B, frag: 8, payload: udp(1, 2) })), false],
    ['GRE', cat(eth(0x0800), ipv4({ proto: 47, src: A, dst: B, payload: [0, 0, 0x08, 0] })), false],
    ['QinQ', cat(eth(0x8100), tag(1, 0x8100), tag(2, 0x0800), ipv4({ proto: 6, src: A, dst: B, payload: tcp(1, 2, 0x10) })), false],
    ['MPLS', cat(eth(0x8847), mpls(16, true), ipv4({ proto: 6, src: A, dst: B, payload: tcp(1, 2, 0x10) })), false],
    ['ARP', cat(eth(0x0806), be16(1), new Array(26).fill(0)), false],
  ];
  for (const [what, bytes, fast] of edges) {
    it(`${fast ? 'takes' : 'leaves to the general decoder'} ${what}, with the same view`, () => {
      const u8 = Uint8Array.from(bytes);
      expect(taken(u8)).toBe(fast);
      const c: DecodeCase = { linkType: ETHERNET, bytes: u8, caplen: u8.length, wirelen: u8.length + 4, prefix: new Uint8Array(0), sentinel: 0 };
      const r = both(c, c);
      expect(r.fast).toEqual(r.general);
    });
  }

  it('leaves a TCP header cut before its flags, a UDP header before its ports, to the general decoder', () => {
    const u8 = Uint8Array.from(tcp4);
    // 14 + 20 + 14 bytes hold the flags; one fewer does not.
    expect(taken(u8, 48)).toBe(true);
    expect(taken(u8, 47)).toBe(false);
    const c: DecodeCase = { linkType: ETHERNET, bytes: u8, caplen: 47, wirelen: 60, prefix: new Uint8Array(0), sentinel: 0 };
    const r = both(c, c);
    expect(r.fast).toEqual(r.general);
  });

  it('gives the general decoder\'s view for real, built and mutated frames after any other packet (20,000 pairs)', () => {
    let fast = 0;
    fc.assert(
      fc.property(decodeCaseArb(frames), decodeCaseArb(frames), (prev, cur) => {
        if (cur.linkType === ETHERNET && taken(cur.bytes, cur.caplen)) fast++;
        const r = both(prev, cur);
        expect(r.fast).toEqual(r.general);
      }),
      suiteParams(20_000),
    );
    // The run reached the straight path often, not only the general one.
    expect(fast).toBeGreaterThan(500);
  });
});
