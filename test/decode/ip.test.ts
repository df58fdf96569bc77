import { describe, expect, it } from 'vitest';
import { DecodeReason, DecodeStatus, Fragment } from '../../src/decode/packet.js';
import { ah, be16, cat, decode, eth, ext, fragHdr, icmp, ipv4, ipv6, tcp, udp, V6_A_WORDS, V6_B_WORDS, words } from './frames.js';

const RAW = 101;
const MF = 0x2000;

describe('IPv4 (RFC 791)', () => {
  it('skips options by IHL and finds the transport header after them', () => {
    const routerAlert = [0x94, 0x04, 0x00, 0x00];
    const v = decode(ipv4({ proto: 6, options: routerAlert, payload: tcp(80, 1025, 0x14) }), RAW);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.srcPort, v.dstPort, v.tcpFlags, v.ipLen]).toEqual([80, 1025, 0x14, 44]);
  });

  it('rejects IHL below 5, a version other than 4, and options cut by the snaplen as TOO_SHORT', () => {
    const low = decode(ipv4({ proto: 17, ihl: 4, payload: udp(1, 2) }), 228);
    expect([low.status, low.reason]).toEqual([DecodeStatus.TOO_SHORT, DecodeReason.IPV4_BAD_IHL]);
    const ver = decode(ipv4({ proto: 17, version: 5 }), 228);
    expect([ver.status, ver.reason]).toEqual([DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION]);
    const opts = ipv4({ proto: 17, options: new Array(20).fill(1), payload: udp(1, 2) });
    const cut = decode(opts, RAW, { caplen: 30 });
    expect([cut.status, cut.reason, cut.ipVersion]).toEqual([DecodeStatus.TOO_SHORT, DecodeReason.IPV4_TRUNCATED, 0]);
    expect(decode(opts, RAW, { caplen: 19 }).status).toBe(DecodeStatus.TOO_SHORT);
  });

  it('marks a first fragment (MF, offset 0) FIRST and still reads its ports', () => {
    const v = decode(ipv4({ proto: 17, frag: MF, payload: udp(7001, 7000, new Array(100).fill(0)) }), RAW);
    expect([v.fragment, v.srcPort, v.dstPort]).toEqual([Fragment.FIRST, 7001, 7000]);
  });

  it('marks later fragments (offset > 0, with or without MF) LATER with ports 0, even when bytes look like ports', () => {
    for (const frag of [MF | 185, 370]) {
      const v = decode(ipv4({ proto: 17, frag, payload: udp(7001, 7000, new Array(40).fill(0)) }), RAW);
      expect(v.status).toBe(DecodeStatus.OK);
      expect([v.fragment, v.protocol, v.srcPort, v.dstPort]).toEqual([Fragment.LATER, 17, 0, 0]);
    }
    // DF alone is not a fragment.
    expect(decode(ipv4({ proto: 17, frag: 0x4000, payload: udp(1, 2) }), RAW).fragment).toBe(Fragment.NONE);
  });

  it('stops at the outer header of a tunnel: GRE, IP-in-IP and 6in4 give protocol only', () => {
    for (const proto of [47, 4, 41]) {
      const inner = ipv4({ proto: 6, payload: tcp(1111, 2222, 0x02) });
      const v = decode(ipv4({ proto, payload: cat([0, 0, 0x08, 0x00], inner) }), RAW);
      expect([v.protocol, v.srcPort, v.dstPort, v.tcpFlags]).toEqual([proto, 0, 0, 0]);
      expect(words(v.src)[0]).toBe(0xc0000201);
    }
  });

  it('reads ports when the total length is 0 (segmentation offload captures)', () => {
    const v = decode(ipv4({ proto: 6, totalLen: 0, payload: tcp(22, 50000, 0x18) }), RAW);
    expect([v.status, v.ipLen, v.srcPort, v.tcpFlags]).toEqual([DecodeStatus.OK, 0, 22, 0x18]);
  });
});

describe('IPv6 (RFC 8200)', () => {
  it('reads traffic class, flow label, hop limit and ipLen = payload length + 40', () => {
    const v = decode(ipv6({ nh: 17, tc: 0xb8, flow: 0xabcde, hlim: 3, payload: udp(1, 2) }), RAW);
    expect([v.tos, v.flowLabel, v.ttl, v.ipLen]).toEqual([0xb8, 0xabcde, 3, 48]);
    expect(words(v.src)).toEqual(V6_A_WORDS);
    expect(words(v.dst)).toEqual(V6_B_WORDS);
  });

  it('walks hop-by-hop, routing, fragment (first) and destination options to UDP', () => {
    const payload = cat(ext(43, 8), ext(44, 24), fragHdr(60, 0, true), ext(17, 16), udp(5353, 53));
    const v = decode(ipv6({ nh: 0, payload }), RAW);
    expect(v.status).toBe(DecodeStatus.OK);
    expect([v.protocol, v.srcPort, v.dstPort, v.fragment]).toEqual([17, 5353, 53, Fragment.FIRST]);
  });

  it('keeps the real protocol of a later fragment (softflowd gives 0) and reads no ports', () => {
    const v = decode(ipv6({ nh: 44, payload: cat(fragHdr(17, 181, false), udp(9, 9)) }), RAW);
    expect([v.status, v.fragment, v.protocol, v.srcPort, v.dstPort]).toEqual([DecodeStatus.OK, Fragment.LATER, 17, 0, 0]);
  });

  it('walks AH by its 4-octet length to the protocol it protects', () => {
    const v = decode(ipv6({ nh: 51, payload: cat(ah(89), [2, 1, 0, 44]) }), RAW);
    expect(v.protocol).toBe(89);
    const w = decode(ipv6({ nh: 51, payload: cat(ah(6, 16), tcp(179, 40000, 0x18)) }), RAW);
    expect([w.protocol, w.srcPort, w.tcpFlags]).toEqual([6, 179, 0x18]);
  });

  it('ends the chain at ESP and No Next Header', () => {
    expect(decode(ipv6({ nh: 50, payload: [0, 0, 1, 0, 0, 0, 0, 1] }), RAW).protocol).toBe(50);
    expect(decode(ipv6({ nh: 0, payload: cat(ext(59, 8)) }), RAW).protocol).toBe(59);
  });

  it('takes a Mobility header (whose payload is No Next Header) as the protocol, not 59', () => {
    const bindingUpdate = cat([59, 1, 5, 0], new Array(12).fill(0));
    expect(decode(ipv6({ nh: 0, payload: cat(ext(135, 8), bindingUpdate) }), RAW).protocol).toBe(135);
  });

  it('stays OK when the capture ends inside the chain: protocol is the header it could not read past', () => {
    const pkt = ipv6({ nh: 0, payload: cat(ext(43, 8), ext(17, 16), udp(1, 2)) });
    const inHbh = decode(pkt, RAW, { caplen: 41 });
    expect([inHbh.status, inHbh.protocol, inHbh.truncated]).toEqual([DecodeStatus.OK, 0, true]);
    const inRouting = decode(pkt, RAW, { caplen: 49 });
    expect([inRouting.protocol, inRouting.truncated]).toEqual([43, true]);
    // Two bytes of the routing header name its next header, though the header itself is cut.
    const routingNamed = decode(pkt, RAW, { caplen: 50 });
    expect([routingNamed.protocol, routingNamed.srcPort, routingNamed.truncated]).toEqual([17, 0, true]);
    const beforeUdp = decode(pkt, RAW, { caplen: 64 });
    expect([beforeUdp.protocol, beforeUdp.srcPort, beforeUdp.truncated]).toEqual([17, 0, true]);
  });

  it('walks any number of extension headers (RFC 8200 §4.1), and stops at the end of a capture made only of them', () => {
    let chain: number[] = [];
    for (let i = 0; i < 100; i++) chain = cat(chain, ext(i === 99 ? 17 : 60, 8));
    const v = decode(ipv6({ nh: 60, payload: cat(chain, udp(1, 2)) }), RAW);
    expect([v.status, v.protocol, v.srcPort, v.dstPort]).toEqual([DecodeStatus.OK, 17, 1, 2]);

    let endless: number[] = [];
    for (let i = 0; i < 1120; i++) endless = cat(endless, ext(60, 8));
    const w = decode(ipv6({ nh: 60, payload: endless }), RAW);
    expect([w.status, w.protocol, w.truncated]).toEqual([DecodeStatus.OK, 60, true]);
  });

  it('rejects a version other than 6 and a header shorter than 40 bytes as TOO_SHORT', () => {
    const pkt = ipv6({ nh: 17, payload: udp(1, 2) });
    expect(decode(pkt, 229, { caplen: 39 }).status).toBe(DecodeStatus.TOO_SHORT);
    const bad = decode([0x40, ...pkt.slice(1)], 229);
    expect([bad.status, bad.reason]).toEqual([DecodeStatus.TOO_SHORT, DecodeReason.IP_VERSION]);
  });

  it('does not read Ethernet padding after the payload as a transport header', () => {
    const frame = cat(eth(0x86dd), ipv6({ nh: 0, payload: ext(17, 8) }), [0x11, 0x22, 0x33, 0x44, 0, 8, 0, 0]);
    const v = decode(frame, 1);
    expect([v.status, v.protocol, v.srcPort, v.dstPort, v.truncated, v.ipLen]).toEqual([DecodeStatus.OK, 17, 0, 0, true, 48]);
  });
});

describe('transport headers', () => {
  it('takes what the snaplen leaves of a TCP header: ports from 4 bytes, flags from 14', () => {
    const pkt = ipv4({ proto: 6, payload: tcp(34567, 80, 0x19) });
    const three = decode(pkt, RAW, { caplen: 23 });
    expect([three.srcPort, three.dstPort, three.tcpFlags, three.truncated]).toEqual([0, 0, 0, true]);
    const four = decode(pkt, RAW, { caplen: 24 });
    expect([four.srcPort, four.dstPort, four.tcpFlags, four.truncated]).toEqual([34567, 80, 0, true]);
    const thirteen = decode(pkt, RAW, { caplen: 33 });
    expect([thirteen.tcpFlags, thirteen.truncated]).toEqual([0, true]);
    const fourteen = decode(pkt, RAW, { caplen: 34 });
    expect([fourteen.tcpFlags, fourteen.truncated]).toEqual([0x19, false]);
  });

  it('reads ports of UDP, SCTP, UDP-Lite and DCCP', () => {
    for (const proto of [17, 132, 136, 33]) {
      const v = decode(ipv4({ proto, payload: cat(be16(4000), be16(5000), new Array(12).fill(0)) }), RAW);
      expect([v.protocol, v.srcPort, v.dstPort]).toEqual([proto, 4000, 5000]);
    }
  });

  it('gives ICMP and ICMPv6 srcPort 0 and dstPort type*256+code', () => {
    const unreach = decode(ipv4({ proto: 1, payload: icmp(3, 3) }), RAW);
    expect([unreach.srcPort, unreach.dstPort, unreach.icmpType, unreach.icmpCode]).toEqual([0, 0x0303, 3, 3]);
    const ns = decode(ipv6({ nh: 58, payload: icmp(135, 0) }), RAW);
    expect([ns.srcPort, ns.dstPort, ns.icmpType, ns.icmpCode]).toEqual([0, 135 * 256, 135, 0]);
    const cut = decode(ipv4({ proto: 1, payload: icmp(8, 0) }), RAW, { caplen: 21 });
    expect([cut.status, cut.dstPort, cut.truncated]).toEqual([DecodeStatus.OK, 0, true]);
  });

  it('leaves ports 0 for protocols without them (ESP, OSPF, IGMP)', () => {
    for (const proto of [50, 89, 2]) {
      const v = decode(ipv4({ proto, payload: [1, 2, 3, 4, 5, 6, 7, 8] }), RAW);
      expect([v.protocol, v.srcPort, v.dstPort, v.truncated]).toEqual([proto, 0, 0, false]);
    }
  });
});
