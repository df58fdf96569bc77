/**
 * Parser of flowdump's filter language, modelled on nfdump 1.7.1's (its man page "filter" and grammar):
 *
 *   expr    := and ( ("or" | "||") and )*          precedence as nfdump: not > and > or
 *   and     := unary ( ("and" | "&&") unary )*
 *   unary   := ("not" | "!") unary | "(" expr ")" | term
 *   term    := any | ipv4 | inet | ipv6 | inet6 | proto NAME|N
 *            | [dir] (host|ip) ADDR | [dir] (host|ip) in "[" ADDR|CIDR ... "]"
 *            | [dir] net CIDR | [dir] net A.B.C.D M.M.M.M
 *            | [dir] port [cmp] N | [dir] port in "[" N|N-M ... "]"
 *            | [dir] vlan N | [dir] as [cmp] N | [in|out] if N | tos [cmp] N
 *            | flags LETTERS | flags [cmp] N | icmp-type N | icmp-code N
 *            | [in|out] (packets|bytes) [cmp] N | (duration|pps|bps|bpp) [cmp] N
 *   dir     := src | dst | src or dst | src and dst (either order)
 *   cmp     := = | == | < | > | <= | >= | eq | lt | gt | le | ge          (omitted: ==)
 *
 * Keywords are case-insensitive; numbers take nfdump's k/m/g/t suffixes (powers of 1000) and 0x hex; duration is
 * in milliseconds. Beyond nfdump: ranges in port lists ("port in [8000-8080]"), partial IPv4 networks ("net
 * 10/8"), flags E (ECE) and C (CWR), and "ipv6-icmp"/"icmpv6" as protocol names. Host names are not looked up.
 */
import { parseAddr } from '../decode/address.js';
import { describe, errorAt, tokenize, type Token } from './lexer.js';
import { protoByName } from './format.js';

export type Dir = 'src' | 'dst' | 'either' | 'both';
export type Cmp = '==' | '<' | '>' | '<=' | '>=';

/** An address with a mask: a host has all bits set; both are stored masked, as big-endian words. */
export interface Prefix {
  version: 4 | 6;
  words: Uint32Array;
  mask: Uint32Array;
}

export type Counter = 'packets' | 'bytes' | 'outPackets' | 'outBytes' | 'duration' | 'pps' | 'bps' | 'bpp' | 'tos';

export type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; expr: Node }
  | { kind: 'any' }
  | { kind: 'family'; version: 4 | 6 }
  | { kind: 'proto'; proto: number }
  | { kind: 'addr'; dir: Dir; prefixes: Prefix[] }
  | { kind: 'port'; dir: Dir; cmp: Cmp; value: number }
  | { kind: 'portList'; dir: Dir; ranges: Array<[number, number]> }
  | { kind: 'flags'; mask: number }
  | { kind: 'flagsValue'; cmp: Cmp; value: number }
  | { kind: 'counter'; field: Counter; cmp: Cmp; value: number }
  | { kind: 'vlan'; dir: Dir; value: number }
  | { kind: 'as'; dir: Dir; cmp: Cmp; value: number }
  | { kind: 'if'; which: 'in' | 'out' | 'either'; value: number }
  | { kind: 'icmp'; part: 'type' | 'code'; value: number };

/** TCP flag letters as nfdump's filter reads them, plus E and C; X means all six classic flags (nfdump). */
const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

const WORD_CMP: Record<string, Cmp> = { eq: '==', lt: '<', gt: '>', le: '<=', ge: '>=', '=': '==', '==': '==' };

const TERM_HINT = 'expected a filter term such as proto, host, net, port, flags, packets or bytes';

/** Parses a filter; an empty (or comment-only) filter matches every flow, as in nfdump. */
export function parseFilter(text: string): Node {
  return new Parser(text).parseAll();
}

class Parser {
  private readonly toks: Token[];
  private i = 0;

  constructor(private readonly text: string) {
    this.toks = tokenize(text);
  }

  parseAll(): Node {
    if (this.peek().kind === 'eof') return { kind: 'any' };
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      throw this.unexpected(t, t.kind === ')' ? 'no "(" to close' : 'expected "and", "or" or the end of the filter');
    }
    return node;
  }

  // ---- token helpers

  private peek(ahead = 0): Token {
    return this.toks[Math.min(this.i + ahead, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === 'word' && words.includes(t.text.toLowerCase());
  }
  private unexpected(t: Token, why: string): Error {
    return errorAt(this.text, t.pos, `unexpected ${describe(t)}`, why);
  }
  private invalid(t: Token, what: string, why: string): Error {
    return errorAt(this.text, t.pos, `${what} ${describe(t)}`, why);
  }
  private expect(kind: Token['kind'], why: string): Token {
    const t = this.next();
    if (t.kind !== kind) throw this.unexpected(t, why);
    return t;
  }

  // ---- boolean structure

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.peek().kind === 'or') {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseUnary();
    while (this.peek().kind === 'and') {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): Node {
    const t = this.peek();
    if (t.kind === 'not') {
      this.next();
      return { kind: 'not', expr: this.parseUnary() };
    }
    if (t.kind === '(') {
      this.next();
      const inner = this.parseOr();
      this.expect(')', 'expected ")"');
      return inner;
    }
    return this.parseTerm();
  }

  // ---- terms

  private parseTerm(): Node {
    const t = this.peek();
    if (t.kind !== 'word') throw this.unexpected(t, TERM_HINT);
    const w = t.text.toLowerCase();

    if (w === 'src' || w === 'dst') return this.parseDirected(this.parseDir());
    if (w === 'in' || w === 'out') return this.parseInOut();

    this.next();
    switch (w) {
      case 'any':
        return { kind: 'any' };
      case 'ipv4':
      case 'inet':
        return { kind: 'family', version: 4 };
      case 'ipv6':
      case 'inet6':
        return { kind: 'family', version: 6 };
      case 'proto':
        return this.parseProto();
      case 'flags':
        return this.parseFlags();
      case 'packets':
      case 'bytes':
      case 'duration':
      case 'pps':
      case 'bps':
      case 'bpp':
        return this.counter(w, w);
      case 'tos':
        return this.counter('tos', 'tos', 255);
      case 'if':
        return { kind: 'if', which: 'either', value: this.number('an interface index', 0xffffffff) };
      case 'icmp-type':
      case 'icmp-code':
        return { kind: 'icmp', part: w === 'icmp-type' ? 'type' : 'code', value: this.number(`an ICMP ${w.slice(5)}`, 255, `ICMP ${w.slice(5)}`) };
      case 'host':
      case 'ip':
      case 'net':
      case 'port':
      case 'vlan':
      case 'as':
        this.i--;
        return this.parseDirected('either');
      default:
        throw this.unexpected(t, TERM_HINT);
    }
  }

  /** src, dst, "src or dst", "src and dst" (either order): nfdump's direction qualifiers. */
  private parseDir(): Dir {
    const first = this.next().text.toLowerCase();
    const op = this.peek();
    const other = this.peek(1);
    if ((op.kind === 'or' || op.kind === 'and') && this.isWord(other, first === 'src' ? 'dst' : 'src')) {
      this.i += 2;
      return op.kind === 'or' ? 'either' : 'both';
    }
    return first as Dir;
  }

  /** The terms a direction qualifier applies to. */
  private parseDirected(dir: Dir): Node {
    const t = this.next();
    const w = t.kind === 'word' ? t.text.toLowerCase() : '';
    switch (w) {
      case 'host':
      case 'ip':
        return this.parseHost(dir);
      case 'net':
        return this.parseNet(dir);
      case 'port':
        return this.parsePort(dir);
      case 'vlan':
        return { kind: 'vlan', dir, value: this.number('a VLAN id', 4095, 'VLAN id') };
      case 'as': {
        const cmp = this.cmp();
        return { kind: 'as', dir, cmp, value: this.number('an AS number', 0xffffffff) };
      }
      default:
        throw this.unexpected(t, 'expected host, ip, net, port, vlan or as after a direction');
    }
  }

  /** "in"/"out" before packets, bytes or if (nfdump: out counters are those of a biflow's reverse direction). */
  private parseInOut(): Node {
    const which = this.next().text.toLowerCase() as 'in' | 'out';
    const t = this.next();
    const w = t.kind === 'word' ? t.text.toLowerCase() : '';
    if (w === 'packets' || w === 'bytes') {
      const field: Counter = which === 'in' ? w : w === 'packets' ? 'outPackets' : 'outBytes';
      return this.counter(field, w);
    }
    if (w === 'if') return { kind: 'if', which, value: this.number('an interface index', 0xffffffff) };
    throw this.unexpected(t, `expected packets, bytes or if after "${which}"`);
  }

  private parseProto(): Node {
    const t = this.next();
    if (t.kind !== 'word') throw this.unexpected(t, 'expected a protocol name or number');
    const n = parseNumber(t.text);
    if (n !== null) {
      if (n > 255) throw this.invalid(t, 'protocol', 'must be 0..255');
      return { kind: 'proto', proto: n };
    }
    const p = protoByName(t.text);
    if (p < 0) throw this.invalid(t, 'protocol', 'unknown name (try tcp, udp, icmp, icmp6, sctp or a number)');
    return { kind: 'proto', proto: p };
  }

  private parseFlags(): Node {
    const t = this.peek();
    if (t.kind === 'word' && /^[a-z]+$/i.test(t.text) && !(t.text.toLowerCase() in WORD_CMP)) {
      this.next();
      let mask = 0;
      for (const ch of t.text.toUpperCase()) {
        if (ch === 'X') mask |= 0x3f;
        else if (FLAG_BITS[ch] !== undefined) mask |= FLAG_BITS[ch];
        else throw this.invalid(t, 'flags', `"${ch}" is not a TCP flag (F S R P A U E C, or X for all of FSRPAU)`);
      }
      return { kind: 'flags', mask };
    }
    const cmp = this.cmp();
    return { kind: 'flagsValue', cmp, value: this.number('TCP flags (letters or a number)', 255, 'flags') };
  }

  private parseHost(dir: Dir): Node {
    if (this.isWord(this.peek(), 'in')) {
      this.next();
      return { kind: 'addr', dir, prefixes: this.list('an IP address or network', (t) => this.prefixOf(t, true)) };
    }
    const t = this.next();
    const p = t.kind === 'word' ? parseAddr(t.text) : null;
    if (p === null) {
      throw t.kind === 'word' && /[/]/.test(t.text)
        ? this.invalid(t, 'address', 'a network needs "net", not "host"')
        : this.unexpected(t, 'expected an IP address (host names are not looked up)');
    }
    return { kind: 'addr', dir, prefixes: [hostPrefix(p.version, p.words)] };
  }

  private parseNet(dir: Dir): Node {
    const t = this.next();
    if (t.kind !== 'word') throw this.unexpected(t, 'expected a network such as 10.0.0.0/8 or 2001:db8::/32');
    if (!t.text.includes('/')) {
      // nfdump's second form: an IPv4 address and a dotted netmask.
      const addr = parseAddr(t.text);
      const m = this.peek();
      const mask = m.kind === 'word' ? parseAddr(m.text) : null;
      if (addr === null || addr.version !== 4) {
        throw this.invalid(t, 'network', 'expected ADDR/BITS, or an IPv4 address and a netmask');
      }
      if (mask === null || mask.version !== 4) throw this.unexpected(m, 'expected a netmask such as 255.255.255.0');
      this.next();
      const words = new Uint32Array(4);
      const maskWords = new Uint32Array(4);
      maskWords[0] = mask.words[0];
      words[0] = (addr.words[0] & mask.words[0]) >>> 0;
      return { kind: 'addr', dir, prefixes: [{ version: 4, words, mask: maskWords }] };
    }
    return { kind: 'addr', dir, prefixes: [this.prefixOf(t, false)] };
  }

  /** "A/N" (partial IPv4 allowed: "10/8"), or with `hostOk` a bare address. */
  private prefixOf(t: Token, hostOk: boolean): Prefix {
    const slash = t.text.indexOf('/');
    if (slash < 0) {
      const a = hostOk ? parseAddr(t.text) : null;
      if (a === null) throw this.invalid(t, 'address', 'expected an IP address or ADDR/BITS');
      return hostPrefix(a.version, a.words);
    }
    const addrText = t.text.slice(0, slash);
    const bitsText = t.text.slice(slash + 1);
    let a = parseAddr(addrText);
    if (a === null && /^\d{1,3}(\.\d{1,3}){0,2}$/.test(addrText)) {
      a = parseAddr(addrText + '.0'.repeat(3 - (addrText.split('.').length - 1)));
    }
    if (a === null) throw this.invalid(t, 'network', 'the address part is not an IPv4 or IPv6 address');
    const max = a.version === 4 ? 32 : 128;
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 1 && bits <= max)) throw this.invalid(t, 'network', `prefix length must be 1..${max}`);
    const mask = maskWords(bits);
    const words = new Uint32Array(4);
    for (let k = 0; k < 4; k++) words[k] = (a.words[k] & mask[k]) >>> 0;
    return { version: a.version, words, mask };
  }

  private parsePort(dir: Dir): Node {
    if (this.isWord(this.peek(), 'in')) {
      this.next();
      const ranges = this.list('a port or a range such as 8000-8080', (t) => {
        const m = /^(\w+)(?:-(\w+))?$/.exec(t.text);
        const lo = m ? parseNumber(m[1]) : null;
        const hi = m ? (m[2] === undefined ? lo : parseNumber(m[2])) : null;
        if (lo === null || hi === null) throw this.unexpected(t, 'expected a port or a range such as 8000-8080');
        if (lo > 65535 || hi > 65535) throw this.invalid(t, 'port', 'must be 0..65535');
        if (lo > hi) throw this.invalid(t, 'port range', 'the first port must not be above the second');
        return [lo, hi] as [number, number];
      });
      return { kind: 'portList', dir, ranges };
    }
    const cmp = this.cmp();
    return { kind: 'port', dir, cmp, value: this.number('a port number', 65535, 'port') };
  }

  /** "[" item ( [","] item )* "]" as in nfdump's lists (spaces or commas between items). */
  private list<T>(what: string, item: (t: Token) => T): T[] {
    this.expect('[', 'expected "[" to start a list');
    const out: T[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind === ']' && out.length > 0) return out;
      if (t.kind === ',' && out.length > 0) continue;
      if (t.kind !== 'word') throw this.unexpected(t, out.length > 0 ? `expected ${what} or "]"` : `expected ${what}`);
      out.push(item(t));
    }
  }

  /** An optional comparator; nfdump assumes "==" when there is none. */
  private cmp(): Cmp {
    const t = this.peek();
    if (t.kind === 'cmp' || (t.kind === 'word' && t.text.toLowerCase() in WORD_CMP)) {
      this.next();
      return WORD_CMP[t.text.toLowerCase()] ?? (t.text as Cmp);
    }
    return '==';
  }

  private counter(field: Counter, name: string, max = Number.MAX_SAFE_INTEGER): Node {
    const cmp = this.cmp();
    const unit = field === 'duration' ? ' of milliseconds' : '';
    return { kind: 'counter', field, cmp, value: this.number(`a number${unit} after ${name}`, max, name) };
  }

  /** A number up to `max`; `noun` names it in the out-of-range message ("port "70000" ...: must be 0..65535"). */
  private number(what: string, max: number, noun = 'number'): number {
    const t = this.next();
    const n = t.kind === 'word' ? parseNumber(t.text) : null;
    if (n === null) throw this.unexpected(t, `expected ${what}`);
    if (n > max) throw this.invalid(t, noun, `must be 0..${max}`);
    return n;
  }
}

/** Decimal or 0x hex, with an optional k/m/g/t suffix (powers of 1000, as nfdump); null if not a number. */
export function parseNumber(s: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  const m = /^(\d+)([kmgt]?)$/i.exec(s);
  if (!m) return null;
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2].toLowerCase()] as number;
  const n = Number(m[1]) * scale;
  return Number.isSafeInteger(n) ? n : null;
}

/** The four mask words of a prefix length (0..128), most significant bit first. */
export function maskWords(bits: number): Uint32Array {
  const m = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const b = Math.max(0, Math.min(32, bits - 32 * k));
    m[k] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  return m;
}

function hostPrefix(version: 4 | 6, words: Uint32Array): Prefix {
  return { version, words: Uint32Array.from(words), mask: maskWords(version === 4 ? 32 : 128) };
}
