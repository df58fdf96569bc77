import { describe, expect, it } from 'vitest';
import { formatPacketLine, formatTcpFlags, formatTime } from '../../src/decode/format.js';
import { PacketView } from '../../src/decode/packet.js';
import { cat, decode, eth, fragHdr, icmp, ipv4, ipv6, le32, mpls, tag, tcp, udp } from './frames.js';

function at(v: PacketView): PacketView {
  v.tsSec = 1257156610; // 2009-11-02T10:10:10Z
  v.tsNsec = 123456789;
  return v;
}

describe('packet lines for --print-packets', () => {
  it('prints UTC time with all nine digits of nanoseconds', () => {
    expect(formatTime(1257156610, 123456789)).toBe('2009-11-02T10:10:10.123456789Z');
    expect(formatTime(0, 5)).toBe('1970-01-01T00:00:00.000000005Z');
  });

  it('prints TCP flags as eight letters CEUAPRSF with dots for unset bits', () => {
    expect(formatTcpFlags(0x02)).toBe('......S.');
    expect(formatTcpFlags(0x12)).toBe('...A..S.');
    expect(formatTcpFlags(0xff)).toBe('CEUAPRSF');
    expect(formatTcpFlags(0)).toBe('........');
  });

  it('prints a TCP packet with ports, flags, IP length, ToS and VLANs', () => {
    const v = at(decode(cat(eth(0x88a8), tag(30, 0x8100), tag(20, 0x0800), ipv4({ proto: 6, tos: 0x28, payload: tcp(59856, 80, 0x18) })), 1));
    expect(formatPacketLine(v)).toBe(
      '2009-11-02T10:10:10.123456789Z tcp 192.0.2.1:59856 -> 198.51.100.2:80 flags ...AP... len 40 tos 0x28 vlan 30/20',
    );
  });

  it('prints ICMP type.code, IPv6 in brackets, flow labels, MPLS labels and fragments', () => {
    const echo = at(decode(cat(eth(0x8847), mpls(16000, true), ipv4({ proto: 1, payload: icmp(8, 0) })), 1));
    expect(formatPacketLine(echo)).toBe(
      '2009-11-02T10:10:10.123456789Z icmp 192.0.2.1 -> 198.51.100.2 type 8.0 len 30 mpls 16000',
    );
    const ns = at(decode(ipv6({ nh: 58, flow: 0x12345, payload: icmp(135, 0) }), 101));
    expect(formatPacketLine(ns)).toBe(
      '2009-11-02T10:10:10.123456789Z ipv6-icmp [2001:db8::1] -> [2001:db8::ff] type 135.0 len 50 label 0x12345',
    );
    const dns = at(decode(ipv6({ nh: 17, payload: udp(5353, 53) }), 101));
    expect(formatPacketLine(dns)).toBe('2009-11-02T10:10:10.123456789Z udp [2001:db8::1]:5353 -> [2001:db8::ff]:53 len 48');
    const later = at(decode(ipv6({ nh: 44, payload: cat(fragHdr(17, 100, true), [1, 2, 3, 4]) }), 101));
    expect(formatPacketLine(later)).toBe(
      '2009-11-02T10:10:10.123456789Z udp [2001:db8::1] -> [2001:db8::ff] len 52 frag later',
    );
    const gre = at(decode(ipv4({ proto: 47, payload: [0, 0, 8, 0] }), 101));
    expect(formatPacketLine(gre)).toBe('2009-11-02T10:10:10.123456789Z gre 192.0.2.1 -> 198.51.100.2 len 24');
  });

  it('marks fields cut by the snaplen', () => {
    const v = at(decode(ipv4({ proto: 6, payload: tcp(1, 2, 0x02) }), 101, { caplen: 26 }));
    expect(formatPacketLine(v)).toBe('2009-11-02T10:10:10.123456789Z tcp 192.0.2.1:1 -> 198.51.100.2:2 len 40 [truncated]');
  });

  it('says why a packet is not decoded', () => {
    const arp = at(decode(cat(eth(0x8100), tag(5, 0x0806), new Array(28).fill(0)), 1));
    expect(formatPacketLine(arp)).toBe('2009-11-02T10:10:10.123456789Z non-IP: ethertype 0x0806 (ARP) vlan 5');
    const lcp = at(decode(cat([0xff, 0x03, 0xc0, 0x21], [1, 1, 0, 4]), 9));
    expect(formatPacketLine(lcp)).toBe('2009-11-02T10:10:10.123456789Z non-IP: PPP protocol 0xc021 (LCP)');
    const af = at(decode(cat(le32(7), [0, 0, 0, 0]), 0));
    expect(formatPacketLine(af)).toBe('2009-11-02T10:10:10.123456789Z non-IP: address family 7');
    const short = at(decode(cat(eth(0x0800), ipv4({ proto: 17 })), 1, { caplen: 20 }));
    expect(formatPacketLine(short)).toBe('2009-11-02T10:10:10.123456789Z too short: IPv4 header cut (caplen 20)');
    const unknown = at(decode([1, 2, 3], 147));
    expect(formatPacketLine(unknown)).toBe('2009-11-02T10:10:10.123456789Z unknown link type 147');
  });
});
