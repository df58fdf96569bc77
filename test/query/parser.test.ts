import { describe, expect, it } from 'vitest';
import { FilterError } from '../../src/query/lexer.js';
import { parseFilter, parseNumber, type Node } from '../../src/query/parser.js';

/** A compact text form of a parse tree, so precedence shows at a glance. */
function show(n: Node): string {
  switch (n.kind) {
    case 'and':
    case 'or':
      return `(${show(n.left)} ${n.kind} ${show(n.right)})`;
    case 'not':
      return `!${show(n.expr)}`;
    case 'proto':
      return `proto=${n.proto}`;
    case 'port':
      return `${n.dir}.port${n.cmp}${n.value}`;
    case 'addr':
      return `${n.dir}.addr[${n.prefixes.length}]`;
    case 'counter':
      return `${n.field}${n.cmp}${n.value}`;
    default:
      return n.kind;
  }
}

function errorOf(filter: string): FilterError {
  try {
    parseFilter(filter);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`"${filter}" parsed without error`);
}

describe('filter parser', () => {
  it('binds not tighter than and, and and tighter than or (nfdump precedence)', () => {
    expect(show(parseFilter('proto 6 or proto 17 and port 53'))).toBe('(proto=6 or (proto=17 and either.port==53))');
    expect(show(parseFilter('not proto 6 and port 53'))).toBe('(!proto=6 and either.port==53)');
    expect(show(parseFilter('not proto 6 or proto 17'))).toBe('(!proto=6 or proto=17)');
  });

  it('lets parentheses override precedence', () => {
    expect(show(parseFilter('(proto 6 or proto 17) and port 53'))).toBe('((proto=6 or proto=17) and either.port==53)');
    expect(show(parseFilter('not (proto 6 or proto 17)'))).toBe('!(proto=6 or proto=17)');
  });

  it('chains and/or to the left', () => {
    expect(show(parseFilter('proto 1 or proto 6 or proto 17'))).toBe('((proto=1 or proto=6) or proto=17)');
    expect(show(parseFilter('! ! proto 6'))).toBe('!!proto=6');
  });

  it('reads direction qualifiers, including "src or dst" and "dst and src"', () => {
    expect(show(parseFilter('src port 80'))).toBe('src.port==80');
    expect(show(parseFilter('dst port 80'))).toBe('dst.port==80');
    expect(show(parseFilter('port 80'))).toBe('either.port==80');
    expect(show(parseFilter('src or dst port 80'))).toBe('either.port==80');
    expect(show(parseFilter('dst and src host 10.0.0.1'))).toBe('both.addr[1]');
    // "src" followed by "or" that is not "or dst" is a boolean or after a qualified term.
    expect(show(parseFilter('src port 1 or dst port 2'))).toBe('(src.port==1 or dst.port==2)');
  });

  it('reads comparators as symbols or words, and == when there is none', () => {
    expect(show(parseFilter('bytes > 1k'))).toBe('bytes>1000');
    expect(show(parseFilter('packets ge 10'))).toBe('packets>=10');
    expect(show(parseFilter('dst port lt 1024'))).toBe('dst.port<1024');
    expect(show(parseFilter('packets = 3'))).toBe('packets==3');
    expect(show(parseFilter('duration <= 5000'))).toBe('duration<=5000');
  });

  it('reads protocol names as nfdump does, case-insensitively, plus the IANA ICMPv6 names', () => {
    for (const [name, n] of [['tcp', 6], ['UDP', 17], ['icmp', 1], ['icmp6', 58], ['ipv6-icmp', 58], ['sctp', 132], ['gre', 47], ['esp', 50], ['132', 132]] as const) {
      expect(parseFilter(`proto ${name}`)).toEqual({ kind: 'proto', proto: n });
    }
  });

  it('reads networks in CIDR, netmask and partial IPv4 form, masking host bits', () => {
    const net = (f: string): string => {
      const n = parseFilter(f);
      if (n.kind !== 'addr') throw new Error(n.kind);
      const p = n.prefixes[0];
      return `${p.version} ${[...p.words].map((w) => w.toString(16)).join(':')}/${[...p.mask].map((w) => w.toString(16)).join(':')}`;
    };
    expect(net('net 10.1.2.3/8')).toBe('4 a000000:0:0:0/ff000000:0:0:0');
    expect(net('net 10/8')).toBe('4 a000000:0:0:0/ff000000:0:0:0');
    expect(net('net 172.16/12')).toBe('4 ac100000:0:0:0/fff00000:0:0:0');
    expect(net('net 192.168.1.7 255.255.255.0')).toBe('4 c0a80100:0:0:0/ffffff00:0:0:0');
    expect(net('net 2001:db8::1/33')).toBe('6 20010db8:0:0:0/ffffffff:80000000:0:0');
    expect(net('host ::1')).toBe('6 0:0:0:1/ffffffff:ffffffff:ffffffff:ffffffff');
  });

  it('reads port and address lists with spaces or commas, and port ranges', () => {
    const n = parseFilter('port in [22, 80 8000-8080]');
    expect(n).toEqual({ kind: 'portList', dir: 'either', ranges: [[22, 22], [80, 80], [8000, 8080]] });
    const a = parseFilter('dst ip in [10.0.0.1 192.168.0.0/16, 2001:db8::/32]');
    expect(a.kind === 'addr' && a.prefixes.map((p) => p.version)).toEqual([4, 4, 6]);
  });

  it('reads flag letters (E and C too; X is all six classic flags) and numeric flags', () => {
    expect(parseFilter('flags SA')).toEqual({ kind: 'flags', mask: 0x12 });
    expect(parseFilter('flags sa')).toEqual({ kind: 'flags', mask: 0x12 });
    expect(parseFilter('flags CE')).toEqual({ kind: 'flags', mask: 0xc0 });
    expect(parseFilter('flags X')).toEqual({ kind: 'flags', mask: 0x3f });
    expect(parseFilter('flags 18')).toEqual({ kind: 'flagsValue', cmp: '==', value: 18 });
    expect(parseFilter('flags > 16')).toEqual({ kind: 'flagsValue', cmp: '>', value: 16 });
  });

  it('treats an empty or comment-only filter as "any"', () => {
    expect(parseFilter('')).toEqual({ kind: 'any' });
    expect(parseFilter('  # nothing here\n')).toEqual({ kind: 'any' });
  });
});

describe('filter errors point at the offending token', () => {
  const cases: Array<[string, string]> = [
    ['proto tcp and port foo', 'filter: unexpected "foo" at column 20: expected a port number'],
    ['proto tcp and', 'filter: unexpected end of filter at column 14: expected a filter term such as proto, host, net, port, flags, packets or bytes'],
    ['host 10.0.0.1 port 80', 'filter: unexpected "port" at column 15: expected "and", "or" or the end of the filter'],
    ['(proto tcp', 'filter: unexpected end of filter at column 11: expected ")"'],
    ['proto tcp)', 'filter: unexpected ")" at column 10: no "(" to close'],
    ['port 70000', 'filter: port "70000" at column 6: must be 0..65535'],
    ['net 10.0.0.0/33', 'filter: network "10.0.0.0/33" at column 5: prefix length must be 1..32'],
    ['proto foo', 'filter: protocol "foo" at column 7: unknown name (try tcp, udp, icmp, icmp6, sctp or a number)'],
    ['proto 300', 'filter: protocol "300" at column 7: must be 0..255'],
    ['flags SQ', 'filter: flags "SQ" at column 7: "Q" is not a TCP flag (F S R P A U E C, or X for all of FSRPAU)'],
    ['host www.example.com', 'filter: unexpected "www.example.com" at column 6: expected an IP address (host names are not looked up)'],
    ['host 10.0.0.0/8', 'filter: address "10.0.0.0/8" at column 6: a network needs "net", not "host"'],
    ['bytes > 5kk', 'filter: unexpected "5kk" at column 9: expected a number after bytes'],
    ['src proto tcp', 'filter: unexpected "proto" at column 5: expected host, ip, net, port, vlan or as after a direction'],
    ['port in [80 x]', 'filter: unexpected "x" at column 13: expected a port or a range such as 8000-8080'],
    ['port in [443-80]', 'filter: port range "443-80" at column 10: the first port must not be above the second'],
    ['vlan 5000', 'filter: VLAN id "5000" at column 6: must be 0..4095'],
    ['foo', 'filter: unexpected "foo" at column 1: expected a filter term such as proto, host, net, port, flags, packets or bytes'],
    ['proto tcp\nand port x', 'filter: unexpected "x" at line 2, column 10: expected a port number'],
  ];
  it.each(cases)('%j', (filter, message) => {
    const e = errorOf(filter);
    expect(e.message).toBe(message);
    expect(e.message).not.toContain('\n');
  });

  it('records the offset of the token, for a caret under it', () => {
    expect(errorOf('proto tcp and port foo').pos).toBe(19);
  });
});

describe('numbers', () => {
  it('take nfdump\'s k/m/g/t suffixes as powers of 1000, and 0x hex', () => {
    expect(parseNumber('1500')).toBe(1500);
    expect(parseNumber('2k')).toBe(2000);
    expect(parseNumber('3M')).toBe(3_000_000);
    expect(parseNumber('1g')).toBe(1e9);
    expect(parseNumber('2T')).toBe(2e12);
    expect(parseNumber('0x1F')).toBe(31);
    expect(parseNumber('1.5k')).toBeNull();
    expect(parseNumber('k')).toBeNull();
  });
});
