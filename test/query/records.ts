/** Test side: FlowRecords from a few readable fields, and queries run over them in UTC, for the unit tests. */
import { afterEach, beforeEach } from 'vitest';
import { parseAddr } from '../../src/decode/address.js';
import { runQuery, type QueryOptions } from '../../src/query/run.js';
import type { RecordSource } from '../../src/query/source.js';
import { FlowRecord } from '../../src/wire/record.js';

export interface FlowSpec {
  src?: string;
  dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  flags?: number;
  tos?: number;
  packets?: number;
  bytes?: number;
  /** ms since the epoch (UTC). */
  start?: number;
  end?: number;
  vlan?: number;
  postVlan?: number;
  srcAs?: number;
  dstAs?: number;
  inIf?: number;
  outIf?: number;
  revPackets?: number;
  revBytes?: number;
}

export const T0 = Date.UTC(2026, 10, 24, 19, 42, 47, 790);

export function flow(s: FlowSpec = {}): FlowRecord {
  const r = new FlowRecord();
  const src = parseAddr(s.src ?? '192.0.2.1');
  const dst = parseAddr(s.dst ?? '198.51.100.2');
  if (!src || !dst || src.version !== dst.version) throw new Error(`bad test addresses ${s.src} ${s.dst}`);
  r.ipVersion = src.version;
  r.src.set(src.words);
  r.dst.set(dst.words);
  r.protocol = s.proto ?? 6;
  r.srcPort = s.sport ?? 40000;
  r.dstPort = s.dport ?? 80;
  r.tcpFlags = s.flags ?? 0;
  r.tos = s.tos ?? 0;
  r.packets = s.packets ?? 1;
  r.octets = s.bytes ?? 40;
  const start = s.start ?? T0;
  const end = s.end ?? start;
  r.startSec = Math.floor(start / 1000);
  r.startNsec = (start % 1000) * 1e6;
  r.endSec = Math.floor(end / 1000);
  r.endNsec = (end % 1000) * 1e6;
  r.vlan = s.vlan ?? 0;
  r.postVlan = s.postVlan ?? 0;
  r.srcAs = s.srcAs ?? 0;
  r.dstAs = s.dstAs ?? 0;
  r.inputIf = s.inIf ?? 0;
  r.outputIf = s.outIf ?? 0;
  r.revPackets = s.revPackets ?? 0;
  r.revOctets = s.revBytes ?? 0;
  return r;
}

/** Runs every test of the calling file with TZ=UTC (dates print in local time), restoring TZ afterwards. */
export function inUtc(): void {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.TZ;
    process.env.TZ = 'UTC';
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });
}

/** runQuery's output as lines. */
export async function queryLines(opts: QueryOptions, source: RecordSource): Promise<string[]> {
  let text = '';
  await runQuery(opts, source, { write: (s: string) => (text += s) });
  return text.split('\n').slice(0, -1);
}
