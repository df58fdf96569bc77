import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/query/compile.js';
import type { FlowRecord } from '../../src/wire/record.js';
import { flow, T0, type FlowSpec } from './records.js';

/** Which of the flows the filter selects, by index. */
function selects(filter: string, flows: FlowRecord[]): number[] {
  const p = compileFilter(filter);
  return flows.flatMap((f, i) => (p(f) ? [i] : []));
}

function matches(filter: string, spec: FlowSpec): boolean {
  return compileFilter(filter)(flow(spec));
}

describe('filter primitives', () => {
  it('proto matches the protocol number, by name or number', () => {
    expect(matches('proto tcp', { proto: 6 })).toBe(true);
    expect(matches('proto tcp', { proto: 17 })).toBe(false);
    expect(matches('proto 132', { proto: 132 })).toBe(true);
    expect(matches('proto icmp6', { proto: 58, src: '2001:db8::1', dst: '2001:db8::2' })).toBe(true);
  });

  it('host matches either side, src and dst one side, "src and dst" both', () => {
    const flows = [flow({ src: '10.0.0.1', dst: '10.0.0.2' }), flow({ src: '10.0.0.2', dst: '10.0.0.1' }), flow({ src: '10.0.0.1', dst: '10.0.0.1' })];
    expect(selects('host 10.0.0.1', flows)).toEqual([0, 1, 2]);
    expect(selects('src host 10.0.0.1', flows)).toEqual([0, 2]);
    expect(selects('dst host 10.0.0.1', flows)).toEqual([1, 2]);
    expect(selects('src and dst host 10.0.0.1', flows)).toEqual([2]);
    expect(selects('ip 10.0.0.2', flows)).toEqual([0, 1]);
  });

  it('host and net match only their own address family', () => {
    // ::a00:1 holds the same 32 bits as 10.0.0.1, in the last word instead of word 0.
    const v6 = flow({ src: '::a00:1', dst: '::a00:2' });
    const v4 = flow({ src: '10.0.0.1', dst: '10.0.0.2' });
    expect(selects('host 10.0.0.1', [v4, v6])).toEqual([0]);
    expect(selects('net 10.0.0.0/8', [v4, v6])).toEqual([0]);
    expect(selects('host ::a00:1', [v4, v6])).toEqual([1]);
    expect(selects('net ::/64', [v4, v6])).toEqual([1]);
  });

  it('IPv6 host and net compare all four words under the mask', () => {
    const flows = [
      flow({ src: '2001:db8:1::5', dst: 'ff02::1' }),
      flow({ src: '2001:db8:2::5', dst: 'ff02::1' }),
      flow({ src: '2001:db9::5', dst: 'fe80::1' }),
    ];
    expect(selects('src net 2001:db8::/32', flows)).toEqual([0, 1]);
    expect(selects('src net 2001:db8:1::/48', flows)).toEqual([0]);
    expect(selects('net ff00::/8', flows)).toEqual([0, 1]);
    expect(selects('host 2001:db8:2::5', flows)).toEqual([1]);
    expect(selects('net 2001:db8:1::5/128', flows)).toEqual([0]);
  });

  it('net takes CIDR, partial IPv4 and a dotted netmask', () => {
    const flows = [flow({ src: '10.1.2.3' }), flow({ src: '10.200.0.1' }), flow({ src: '11.0.0.1' })];
    expect(selects('src net 10.0.0.0/8', flows)).toEqual([0, 1]);
    expect(selects('src net 10/8', flows)).toEqual([0, 1]);
    expect(selects('src net 10.1/16', flows)).toEqual([0]);
    expect(selects('src net 10.0.0.0 255.0.0.0', flows)).toEqual([0, 1]);
    expect(selects('src net 10.1.2.0/24', flows)).toEqual([0]);
  });

  it('ip in [...] takes hosts and networks of both families', () => {
    const flows = [flow({ src: '10.0.0.1' }), flow({ src: '172.16.5.5' }), flow({ src: '2001:db8::9', dst: '2001:db8::1' }), flow({ src: '8.8.8.8' })];
    expect(selects('src ip in [10.0.0.1 172.16.0.0/12, 2001:db8::/32]', flows)).toEqual([0, 1, 2]);
    expect(selects('ip in [8.8.8.8]', flows)).toEqual([3]);
  });

  it('port compares source, destination or either, with every comparator', () => {
    const flows = [flow({ sport: 40000, dport: 80 }), flow({ sport: 80, dport: 40001 }), flow({ sport: 53, dport: 53 })];
    expect(selects('port 80', flows)).toEqual([0, 1]);
    expect(selects('src port 80', flows)).toEqual([1]);
    expect(selects('dst port 80', flows)).toEqual([0]);
    expect(selects('src and dst port 53', flows)).toEqual([2]);
    expect(selects('dst port > 1024', flows)).toEqual([1]);
    expect(selects('dst port >= 80', flows)).toEqual([0, 1]);
    expect(selects('src port < 80', flows)).toEqual([2]);
    expect(selects('src port <= 80', flows)).toEqual([1, 2]);
    expect(selects('dst port = 53', flows)).toEqual([2]);
    expect(selects('dst port == 53', flows)).toEqual([2]);
  });

  it('port lists and ranges test each side', () => {
    const flows = [flow({ sport: 50000, dport: 8080 }), flow({ sport: 8000, dport: 50001 }), flow({ sport: 50002, dport: 443 })];
    expect(selects('port in [8000-8080]', flows)).toEqual([0, 1]);
    expect(selects('dst port in [8000-8080, 443]', flows)).toEqual([0, 2]);
    expect(selects('src port in [65535 0-10]', flows)).toEqual([]);
  });

  it('port applies to ICMP as nfdump does: the destination port holds type*256+code', () => {
    const echo = flow({ proto: 1, sport: 0, dport: 8 * 256 + 0 });
    const unreach = flow({ proto: 1, sport: 0, dport: 3 * 256 + 3 });
    expect(selects('dst port 2048', [echo, unreach])).toEqual([0]);
    expect(selects('icmp-type 3', [echo, unreach])).toEqual([1]);
    expect(selects('icmp-code 3', [echo, unreach])).toEqual([1]);
    expect(selects('icmp-type 8 and icmp-code 0', [echo, unreach])).toEqual([0]);
  });

  it('icmp-type applies to ICMP and ICMPv6 only', () => {
    const tcp = flow({ proto: 6, dport: 8 * 256 });
    const icmp6 = flow({ proto: 58, src: 'fe80::1', dst: 'ff02::1', dport: 135 * 256 });
    expect(selects('icmp-type 8', [tcp])).toEqual([]);
    expect(selects('icmp-type 135', [icmp6])).toEqual([0]);
  });

  it('flags letters require all of them set, and imply TCP', () => {
    const flows = [
      flow({ proto: 6, flags: 0x02 }), // S
      flow({ proto: 6, flags: 0x12 }), // SA
      flow({ proto: 6, flags: 0x1b }), // FSPA
      flow({ proto: 17, flags: 0x12 }), // flags on a UDP record do not count
      flow({ proto: 6, flags: 0xff }),
    ];
    expect(selects('flags S', flows)).toEqual([0, 1, 2, 4]);
    expect(selects('flags SA', flows)).toEqual([1, 2, 4]);
    expect(selects('flags AS', flows)).toEqual([1, 2, 4]);
    expect(selects('flags FSPA', flows)).toEqual([2, 4]);
    expect(selects('flags S and not flags AFRPU', flows)).toEqual([0]);
    expect(selects('flags X', flows)).toEqual([4]);
    expect(selects('flags E', flows)).toEqual([4]);
    expect(selects('flags C', flows)).toEqual([4]);
  });

  it('under "not", flag letters mean "any of them", so "not flags AF" is "neither A nor F" (nfdump)', () => {
    const flows = [
      flow({ proto: 6, flags: 0x02 }), // S
      flow({ proto: 6, flags: 0x12 }), // SA
      flow({ proto: 6, flags: 0x03 }), // SF
      flow({ proto: 6, flags: 0x13 }), // SAF
      flow({ proto: 17 }),
    ];
    expect(selects('not flags AF', flows)).toEqual([0, 4]);
    expect(selects('not (flags AF)', flows)).toEqual([0, 4]);
    expect(selects('flags S and not flags AF', flows)).toEqual([0]);
    // An even number of nots is back to "all of them".
    expect(selects('not not flags AF', flows)).toEqual([3]);
    // Here "flags AF" sits under two nots (all of A and F), "flags S" under one.
    expect(selects('not (flags S and not flags AF)', flows)).toEqual([3, 4]);
  });

  it('numeric flags compare the whole byte, TCP only', () => {
    const flows = [flow({ proto: 6, flags: 0x12 }), flow({ proto: 6, flags: 0x1b }), flow({ proto: 17, flags: 0x12 })];
    expect(selects('flags 18', flows)).toEqual([0]);
    expect(selects('flags > 18', flows)).toEqual([1]);
  });

  it('packets and bytes compare with nfdump\'s k/m/g suffixes (powers of 1000)', () => {
    const flows = [flow({ packets: 10, bytes: 999 }), flow({ packets: 1000, bytes: 1000 }), flow({ packets: 1, bytes: 2_500_000 })];
    expect(selects('bytes > 1k', flows)).toEqual([2]);
    expect(selects('bytes >= 1k', flows)).toEqual([1, 2]);
    expect(selects('bytes > 2m', flows)).toEqual([2]);
    expect(selects('bytes < 1g', flows)).toEqual([0, 1, 2]);
    expect(selects('packets = 1k', flows)).toEqual([1]);
    expect(selects('packets < 10', flows)).toEqual([2]);
  });

  it('in/out packets and bytes read the forward and reverse counters', () => {
    const f = flow({ packets: 5, bytes: 500, revPackets: 7, revBytes: 9000 });
    expect(selects('in packets 5', [f])).toEqual([0]);
    expect(selects('out packets 7', [f])).toEqual([0]);
    expect(selects('out bytes > 8k', [f])).toEqual([0]);
    expect(selects('in bytes > 8k', [f])).toEqual([]);
  });

  it('duration is in milliseconds; pps, bps, bpp use integer division and are 0 for a zero duration', () => {
    const flows = [
      flow({ start: T0, end: T0 + 1500, packets: 3, bytes: 300 }), // 1.5 s: pps 2, bps 1600, bpp 100
      flow({ start: T0, end: T0, packets: 1, bytes: 1000 }), // 0 s: pps 0, bps 0, bpp 1000
      flow({ start: T0 + 999, end: T0 + 10_001, packets: 10, bytes: 100 }),
    ];
    expect(selects('duration > 1000', flows)).toEqual([0, 2]);
    expect(selects('duration = 1500', flows)).toEqual([0]);
    expect(selects('duration = 9002', flows)).toEqual([2]);
    expect(selects('pps = 2', flows)).toEqual([0]);
    expect(selects('pps = 0', flows)).toEqual([1]);
    expect(selects('bps = 1600', flows)).toEqual([0]);
    expect(selects('bps = 88', flows)).toEqual([2]); // 8000*100/9002 = 88.87
    expect(selects('bpp = 1000', flows)).toEqual([1]);
    expect(selects('bpp = 10', flows)).toEqual([2]);
  });

  it('vlan: src is the VLAN id, dst the post VLAN id, unqualified either', () => {
    const flows = [flow({ vlan: 10 }), flow({ postVlan: 10 }), flow({ vlan: 20 })];
    expect(selects('vlan 10', flows)).toEqual([0, 1]);
    expect(selects('src vlan 10', flows)).toEqual([0]);
    expect(selects('dst vlan 10', flows)).toEqual([1]);
  });

  it('as, if and tos', () => {
    const flows = [flow({ srcAs: 65000, dstAs: 3320, inIf: 2, outIf: 3, tos: 0x10 }), flow({ srcAs: 3320, inIf: 3 })];
    expect(selects('src as 65000', flows)).toEqual([0]);
    expect(selects('as 3320', flows)).toEqual([0, 1]);
    expect(selects('dst as > 3000', flows)).toEqual([0]);
    expect(selects('in if 3', flows)).toEqual([1]);
    expect(selects('out if 3', flows)).toEqual([0]);
    expect(selects('if 3', flows)).toEqual([0, 1]);
    expect(selects('tos 16', flows)).toEqual([0]);
  });

  it('ipv4/inet, ipv6/inet6 and any', () => {
    const flows = [flow({ src: '10.0.0.1', dst: '10.0.0.2' }), flow({ src: '::1', dst: '::2' })];
    expect(selects('ipv4', flows)).toEqual([0]);
    expect(selects('inet', flows)).toEqual([0]);
    expect(selects('ipv6', flows)).toEqual([1]);
    expect(selects('inet6', flows)).toEqual([1]);
    expect(selects('any', flows)).toEqual([0, 1]);
    expect(selects('', flows)).toEqual([0, 1]);
  });
});

describe('boolean structure', () => {
  const flows = [
    flow({ proto: 6, dport: 80 }),
    flow({ proto: 6, dport: 22 }),
    flow({ proto: 17, dport: 53 }),
    flow({ proto: 17, dport: 80 }),
  ];

  it('and binds tighter than or', () => {
    expect(selects('proto udp or proto tcp and port 80', flows)).toEqual([0, 2, 3]);
    expect(selects('(proto udp or proto tcp) and port 80', flows)).toEqual([0, 3]);
  });

  it('not binds tighter than and', () => {
    expect(selects('not proto tcp and port 80', flows)).toEqual([3]);
    expect(selects('not (proto tcp and port 80)', flows)).toEqual([1, 2, 3]);
  });

  it('symbols mean the same as words', () => {
    expect(selects('! proto tcp && port 80 || port 22', flows)).toEqual(selects('not proto tcp and port 80 or port 22', flows));
  });
});
