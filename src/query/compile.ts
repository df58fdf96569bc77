/**
 * Turns a parsed filter into one predicate over FlowRecord. All the work of reading the filter (addresses,
 * masks, port sets, comparators) happens here, once; the predicate itself only reads record fields and compares
 * numbers, so it allocates nothing per record.
 *
 * Semantics follow nfdump 1.7.1: `flags` implies TCP, `icmp-type`/`icmp-code` imply ICMP or ICMPv6 and read the
 * destination port (type·256+code), `port` applies to every protocol, an address matches only flows of its own
 * family, and duration/pps/bps/bpp are computed from millisecond times with integer division.
 *
 * One nfdump rule is not plain logic: `flags SA` means all of S and A are set, but under an odd number of `not`s
 * the test becomes "any of them is set" before it is negated, so `not flags AF` means "neither A nor F" (nfdump's
 * man page gives "flags S and not flags AFRPU" for SYN-only). Measured against nfdump, nested negations included.
 */
import type { FlowRecord } from '../wire/record.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP } from './format.js';
import { parseFilter, type Cmp, type Counter, type Dir, type Node, type Prefix } from './parser.js';

export type Predicate = (r: FlowRecord) => boolean;

/** Parses and compiles a filter text; throws FilterError (one line, with the column) if it is not valid. */
export function compileFilter(text: string): Predicate {
  return compile(parseFilter(text));
}

/** `negated`: the node is under an odd number of `not`s (only `flags` letters read it; see above). */
export function compile(node: Node, negated = false): Predicate {
  switch (node.kind) {
    case 'and': {
      const a = compile(node.left, negated);
      const b = compile(node.right, negated);
      return (r) => a(r) && b(r);
    }
    case 'or': {
      const a = compile(node.left, negated);
      const b = compile(node.right, negated);
      return (r) => a(r) || b(r);
    }
    case 'not': {
      const a = compile(node.expr, !negated);
      return (r) => !a(r);
    }
    case 'any':
      return () => true;
    case 'family': {
      const v = node.version;
      return (r) => r.ipVersion === v;
    }
    case 'proto': {
      const p = node.proto;
      return (r) => r.protocol === p;
    }
    case 'addr':
      return directed(node.dir, addrMatcher(node.prefixes, 'src'), addrMatcher(node.prefixes, 'dst'));
    case 'port': {
      const c = comparator(node.cmp, node.value);
      return directed(node.dir, (r) => c(r.srcPort), (r) => c(r.dstPort));
    }
    case 'portList': {
      // One byte per port: the test is a single array read, however long the list.
      const set = new Uint8Array(65536);
      for (const [lo, hi] of node.ranges) set.fill(1, lo, hi + 1);
      return directed(node.dir, (r) => set[r.srcPort] === 1, (r) => set[r.dstPort] === 1);
    }
    case 'flags': {
      const m = node.mask;
      if (negated) return (r) => r.protocol === IPPROTO_TCP && (r.tcpFlags & m) !== 0;
      return (r) => r.protocol === IPPROTO_TCP && (r.tcpFlags & m) === m;
    }
    case 'flagsValue': {
      const c = comparator(node.cmp, node.value);
      return (r) => r.protocol === IPPROTO_TCP && c(r.tcpFlags);
    }
    case 'counter':
      return counterMatcher(node.field, comparator(node.cmp, node.value));
    case 'vlan': {
      const v = node.value;
      return directed(node.dir, (r) => r.vlan === v, (r) => r.postVlan === v);
    }
    case 'as': {
      const c = comparator(node.cmp, node.value);
      return directed(node.dir, (r) => c(r.srcAs), (r) => c(r.dstAs));
    }
    case 'if': {
      const v = node.value;
      if (node.which === 'in') return (r) => r.inputIf === v;
      if (node.which === 'out') return (r) => r.outputIf === v;
      return (r) => r.inputIf === v || r.outputIf === v;
    }
    case 'icmp': {
      const v = node.value;
      const isIcmp = (r: FlowRecord): boolean => r.protocol === IPPROTO_ICMP || r.protocol === IPPROTO_ICMPV6;
      return node.part === 'type'
        ? (r) => isIcmp(r) && r.dstPort >>> 8 === v
        : (r) => isIcmp(r) && (r.dstPort & 0xff) === v;
    }
  }
}

function directed(dir: Dir, src: Predicate, dst: Predicate): Predicate {
  switch (dir) {
    case 'src':
      return src;
    case 'dst':
      return dst;
    case 'either':
      return (r) => src(r) || dst(r);
    case 'both':
      return (r) => src(r) && dst(r);
  }
}

function comparator(cmp: Cmp, v: number): (x: number) => boolean {
  switch (cmp) {
    case '==':
      return (x) => x === v;
    case '<':
      return (x) => x < v;
    case '>':
      return (x) => x > v;
    case '<=':
      return (x) => x <= v;
    case '>=':
      return (x) => x >= v;
  }
}

function durationMs(r: FlowRecord): number {
  return (r.endSec - r.startSec) * 1000 + (Math.floor(r.endNsec / 1e6) - Math.floor(r.startNsec / 1e6));
}

function counterMatcher(field: Counter, c: (x: number) => boolean): Predicate {
  switch (field) {
    case 'packets':
      return (r) => c(r.packets);
    case 'bytes':
      return (r) => c(r.octets);
    case 'outPackets':
      return (r) => c(r.revPackets);
    case 'outBytes':
      return (r) => c(r.revOctets);
    case 'tos':
      return (r) => c(r.tos);
    case 'duration':
      return (r) => c(durationMs(r));
    case 'pps':
      return (r) => {
        const d = durationMs(r);
        return c(d > 0 ? Math.floor((1000 * r.packets) / d) : 0);
      };
    case 'bps':
      return (r) => {
        const d = durationMs(r);
        return c(d > 0 ? Math.floor((8000 * r.octets) / d) : 0);
      };
    case 'bpp':
      return (r) => c(r.packets > 0 ? Math.floor(r.octets / r.packets) : 0);
  }
}

/**
 * Address test for one side. IPv4 hosts of a list go into a Set (a list of thousands stays one lookup); other
 * prefixes are compared word by word under their mask, with the masks and values pre-converted to the signed
 * form that `&` yields.
 */
function addrMatcher(prefixes: readonly Prefix[], side: 'src' | 'dst'): Predicate {
  const hosts4 = new Set<number>();
  const v4: Array<{ w: number; m: number }> = [];
  const v6: Array<{ w: Int32Array; m: Int32Array }> = [];
  for (const p of prefixes) {
    if (p.version === 4) {
      if (p.mask[0] === 0xffffffff) hosts4.add(p.words[0]);
      else v4.push({ w: p.words[0] | 0, m: p.mask[0] | 0 });
    } else {
      v6.push({ w: Int32Array.from(p.words), m: Int32Array.from(p.mask) });
    }
  }
  const get = side === 'src' ? (r: FlowRecord) => r.src : (r: FlowRecord) => r.dst;

  if (prefixes.length === 1 && v4.length === 1) {
    const { w, m } = v4[0];
    return (r) => r.ipVersion === 4 && (get(r)[0] & m) === w;
  }
  if (prefixes.length === 1 && hosts4.size === 1) {
    const [h] = hosts4;
    return (r) => r.ipVersion === 4 && get(r)[0] === h;
  }
  if (prefixes.length === 1 && v6.length === 1) {
    const { w, m } = v6[0];
    const [w0, w1, w2, w3] = w;
    const [m0, m1, m2, m3] = m;
    return (r) => {
      if (r.ipVersion !== 6) return false;
      const a = get(r);
      return (a[0] & m0) === w0 && (a[1] & m1) === w1 && (a[2] & m2) === w2 && (a[3] & m3) === w3;
    };
  }
  return (r) => {
    const a = get(r);
    if (r.ipVersion === 4) {
      if (hosts4.has(a[0])) return true;
      for (let i = 0; i < v4.length; i++) if ((a[0] & v4[i].m) === v4[i].w) return true;
      return false;
    }
    if (r.ipVersion !== 6) return false;
    for (let i = 0; i < v6.length; i++) {
      const { w, m } = v6[i];
      if ((a[0] & m[0]) === w[0] && (a[1] & m[1]) === w[1] && (a[2] & m[2]) === w[2] && (a[3] & m[3]) === w[3]) {
        return true;
      }
    }
    return false;
  };
}
