import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus } from '../../src/decode/packet.js';
import { be16, cat, decode, eth, icmp, ipv4, ipv6, mpls, tag, tcp, udp, V6_B_WORDS, words } from './frames.js';

const ETHERNET = 1;
const PPP = 9;
const PPP_HDLC = 50;
const PPP_ETHER = 51;
const C_HDLC = 104;

/** RFC 2516 §4 session header: ver/type 0x11, code 0, session id, length, then the PPP protocol. */
function pppoe(pppProto: number, payload: number[]): number[] {
  return cat([0x11, 0x00], be16(0x1234), be16(payload.length + 2), be16(pppProto), payload);
}

describe('PPPoE (ethertype 0x8864 session, 0x8863 discovery)', () => {
  it('decodes IPv4 (PPP 0x0021) in a session; the 8-byte PPPoE header belongs to the link header', () => {
    const frame = cat(eth(0x8864), pppoe(0x0021, ipv4({ proto: 6, payload: tcp(5068, 80, 0x02) })));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.srcPort, v.dstPort, v.tcpFlags]).toEqual([5068, 80, 0x02]);
    expect(v.l3Offset).toBe(22);
    expect(v.linkOctets).toBe(frame.length - 22);
  });

  it('decodes IPv6 (PPP 0x0057) in a session inside QinQ', () => {
    const frame = cat(eth(0x88a8), tag(939, 0x8100), tag(744, 0x8864), pppoe(0x0057, ipv6({ nh: 17, payload: udp(546, 547) })));
    const v = decode(frame, ETHERNET);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.vlan, v.vlanInner]).toEqual([939, 744]);
    expect(words(v.dst)).toEqual(V6_B_WORDS);
    expect([v.srcPort, v.dstPort]).toEqual([546, 547]);
  });

  it('reports LCP in a session as non-IP with its PPP protocol, and discovery as non-IP ethertype', () => {
    const lcp = decode(cat(eth(0x8864), pppoe(0xc021, [1, 1, 0, 4])), ETHERNET);
    expect(lcp.status).toBe(DecodeStatus.NON_IP);
    expect(lcp.reason).toBe(DecodeReason.PPP_PROTOCOL);
    expect(lcp.linkProto).toBe(0xc021);

    const padi = decode(cat(eth(0x8863), [0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0]), ETHERNET);
    expect(padi.status).toBe(DecodeStatus.NON_IP);
    expect(padi.reason).toBe(DecodeReason.ETHERTYPE);
    expect(padi.linkProto).toBe(0x8863);
  });

  it('reports a session header cut by the snaplen as TOO_SHORT', () => {
    const frame = cat(eth(0x8864), pppoe(0x0021, ipv4({ proto: 17, payload: udp(1, 2) })));
    expect(decode(frame, ETHERNET, { caplen: 20 }).status).toBe(DecodeStatus.TOO_SHORT);
  });
});

describe('PPP links (LINKTYPE 9, 50, 51) and Cisco HDLC (104)', () => {
  it('decodes PPP with address/control 0xff03, without it, and with a compressed 1-byte protocol', () => {
    const ip = ipv4({ proto: 17, payload: udp(42315, 33435) });
    const full = decode(cat([0xff, 0x03], be16(0x0021), ip), PPP);
    expect(full.status).toBe(DecodeStatus.OK);
    expect(full.l3Offset).toBe(4);
    expect(full.linkOctets).toBe(ip.length);
    const bare = decode(cat(be16(0x0021), ip), PPP);
    expect([bare.status, bare.l3Offset, bare.dstPort]).toEqual([DecodeStatus.OK, 2, 33435]);
    const pfc = decode(cat([0x21], ip), PPP);
    expect([pfc.status, pfc.l3Offset]).toEqual([DecodeStatus.OK, 1]);
  });

  it('decodes MPLS over PPP (0x0281), which softflowd cannot', () => {
    const frame = cat([0xff, 0x03], be16(0x0281), mpls(100704 & 0xfffff, true, 1), ipv4({ proto: 17, payload: udp(1, 2) }));
    const v = decode(frame, PPP);
    expect(v.status).toBe(DecodeStatus.OK);
    expect(v.mplsDepth).toBe(1);
    expect(v.l3Offset).toBe(8);
    expect(v.linkOctets).toBe(frame.length - 4);
  });

  it('reports LCP on a PPP link as non-IP', () => {
    const v = decode(cat([0xff, 0x03], be16(0xc021), [1, 1, 0, 4]), PPP);
    expect([v.status, v.reason, v.linkProto]).toEqual([DecodeStatus.NON_IP, DecodeReason.PPP_PROTOCOL, 0xc021]);
  });

  it('reads PPP_HDLC frames both as PPP and, with address 0x0f/0x8f, as Cisco HDLC', () => {
    const ip6 = ipv6({ nh: 58, payload: icmp(128, 0) });
    const ppp = decode(cat([0xff, 0x03], be16(0x0057), ip6), PPP_HDLC);
    expect([ppp.status, ppp.ipVersion, ppp.icmpType]).toEqual([DecodeStatus.OK, 6, 128]);
    const chdlc = decode(cat([0x0f, 0x00], be16(0x86dd), ip6), PPP_HDLC);
    expect([chdlc.status, chdlc.ipVersion, chdlc.l3Offset]).toEqual([DecodeStatus.OK, 6, 4]);
    const c = decode(cat([0x8f, 0x00], be16(0x0800), ipv4({ proto: 1, payload: icmp(3, 1) })), C_HDLC);
    expect([c.status, c.dstPort]).toEqual([DecodeStatus.OK, 0x0301]);
  });

  it('decodes PPP_ETHER (a PPPoE session header without Ethernet)', () => {
    const v = decode(pppoe(0x0021, ipv4({ proto: 6, payload: tcp(1, 2, 0x11) })), PPP_ETHER);
    expect([v.status, v.l3Offset, v.tcpFlags]).toEqual([DecodeStatus.OK, 8, 0x11]);
  });
});
