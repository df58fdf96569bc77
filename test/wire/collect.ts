/**
 * A minimal collector for tests: walks v9/IPFIX messages with the wire decoders, keeps templates in a plain map
 * and decodes data sets with them. (The real session logic with its cache policy lives in src/collect/.)
 */
import { WireError } from '../../src/wire/errors.js';
import { OptionsRecord } from '../../src/wire/ie.js';
import { IpfixHeader, ipfixTimeBase, walkIpfix } from '../../src/wire/ipfix.js';
import { FlowRecord } from '../../src/wire/record.js';
import { SetResult, Template, decodeFlowSet, decodeOptionsSet } from '../../src/wire/template.js';
import { TimeBase } from '../../src/wire/time.js';
import { V9Header, v9TimeBase, walkV9 } from '../../src/wire/v9.js';

export interface Collected {
  flows: FlowRecord[];
  options: OptionsRecord[];
  templates: Template[];
  withdrawn: number[];
  /** Error codes, from headers, the set walk and data sets. */
  errors: number[];
  headers: (V9Header | IpfixHeader)[];
  /** Data records per data set id. */
  perSet: Map<number, number>;
  unresolvedTimes: number;
}

export function collect(version: 9 | 10, messages: Uint8Array[]): Collected {
  const out: Collected = {
    flows: [],
    options: [],
    templates: [],
    withdrawn: [],
    errors: [],
    headers: [],
    perSet: new Map(),
    unresolvedTimes: 0,
  };
  const cache = new Map<number, Template>();
  const rec = new FlowRecord();
  const opt = new OptionsRecord();
  const res = new SetResult();
  const tb = new TimeBase();
  let systemInit = NaN;
  for (const m of messages) {
    const h = version === 9 ? new V9Header() : new IpfixHeader();
    // Data sets are decoded after the walk has set up the header's time base.
    const pending: [number, DataView, number, number][] = [];
    const visitor = {
      onTemplate: (t: Template) => {
        cache.set(t.id, t);
        out.templates.push(t);
      },
      onWithdraw: (id: number) => {
        cache.delete(id);
        out.withdrawn.push(id);
      },
      onDataSet: (id: number, dv: DataView, s: number, e: number) => pending.push([id, dv, s, e]),
      onError: (code: number) => out.errors.push(code),
    };
    const e = version === 9 ? walkV9(m, h as V9Header, visitor) : walkIpfix(m, h as IpfixHeader, visitor);
    if (e !== WireError.OK) {
      out.errors.push(e);
      continue;
    }
    out.headers.push(h);
    for (const [id, dv, s, end] of pending) {
      const t = cache.get(id);
      if (!t) continue;
      if (version === 9) v9TimeBase(h as V9Header, tb);
      else ipfixTimeBase(h as IpfixHeader, systemInit, tb);
      if (t.options) {
        decodeOptionsSet(dv, s, end, t, tb, opt, (o) => {
          const c = new OptionsRecord();
          Object.assign(c, o);
          out.options.push(c);
          if (o.systemInitTimeMs) systemInit = o.systemInitTimeMs;
        }, res);
      } else {
        decodeFlowSet(dv, s, end, t, tb, rec, {
          onFlow: (r) => {
            const c = new FlowRecord();
            c.copyFrom(r);
            out.flows.push(c);
          },
        }, res);
      }
      if (res.error !== WireError.OK) out.errors.push(res.error);
      out.perSet.set(id, (out.perSet.get(id) ?? 0) + res.records);
      out.unresolvedTimes += tb.unresolved;
      tb.unresolved = 0;
    }
  }
  return out;
}
