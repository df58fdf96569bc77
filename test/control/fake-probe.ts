/**
 * A small in-memory probe behind the control socket in tests: a list of flows, the flow room's own FlowStats for
 * the counters, and a log of the calls it received. Commands change its state the way they change a real
 * probe's (expire-all expires and "exports", delete-all drops), so replies carry figures that move.
 */
import { DEFAULT_TIMEOUTS, Reason, type Timeouts } from '../../src/flow/expiry.js';
import { FlowStats } from '../../src/flow/stats.js';
import type { CaptureCounters, ControlHandler, FlowDump, FlowSnapshot, StatsSnapshot } from '../../src/control/handler.js';

/** One side of a test flow: its address and port, and what it sent. */
export interface End {
  addr: Uint32Array;
  port: number;
  octets: number;
  packets: number;
  tcpFlags: number;
  flowLabel: number;
  macHi: number;
  macLo: number;
}

export function v4(a: number, b: number, c: number, d: number): Uint32Array {
  return Uint32Array.of(((a << 24) | (b << 16) | (c << 8) | d) >>> 0, 0, 0, 0);
}

export function end(addr: Uint32Array, port: number, octets: number, packets: number, extra: Partial<End> = {}): End {
  return { addr, port, octets, packets, tcpFlags: 0, flowLabel: 0, macHi: 0, macLo: 0, ...extra };
}

/** A FlowSnapshot from its two sides (a is half 0, the lower address). */
export function makeFlow(
  seq: number,
  protocol: number,
  a: End,
  b: End,
  times: { startSec: number; startNsec: number; endSec: number; endNsec: number; expiresAt: number },
  more: { ipVersion?: number; vlan?: number } = {},
): FlowSnapshot {
  const half = (e: End) => ({ packets: e.packets, octets: e.octets, tcpFlags: e.tcpFlags, flowLabel: e.flowLabel });
  return {
    seq,
    ipVersion: more.ipVersion ?? 4,
    protocol,
    addr: [a.addr, b.addr],
    port: [a.port, b.port],
    halves: [half(a), half(b)],
    vlan: more.vlan ?? 0,
    macHi: [a.macHi, b.macHi],
    macLo: [a.macLo, b.macLo],
    ...times,
  };
}

export class FakeProbe implements ControlHandler {
  readonly stats = new FlowStats();
  readonly exported = { flowsExported: 0, recordsExported: 0, packetsExported: 0, exportFailures: 0 };
  capture: CaptureCounters | null = { received: 1000, dropped: 0, ifDropped: 0 };
  since = Date.UTC(2026, 10, 24, 19, 48, 15) / 1000;
  now = Date.UTC(2026, 10, 24, 20, 0, 0) / 1000;
  flows: FlowSnapshot[] = [];
  readonly calls: string[] = [];
  debugLevel = 0;
  gathering = true;
  timeoutValues: Timeouts = { ...DEFAULT_TIMEOUTS, udp: 123 };
  /** Set to make the next command's handler method throw. */
  failWith: string | null = null;
  private seq = 0;

  addFlow(protocol: number, a: End, b: End, durationSec = 2, expiresIn = 300): FlowSnapshot {
    const f = makeFlow(++this.seq, protocol, a, b, {
      startSec: this.now - durationSec,
      startNsec: 250_000_000,
      endSec: this.now,
      endNsec: 250_000_000,
      expiresAt: this.now + expiresIn,
    });
    this.flows.push(f);
    this.stats.activeFlows = this.flows.length;
    this.stats.packetsProcessed += a.packets + b.packets;
    return f;
  }

  private check(name: string): void {
    this.calls.push(name);
    if (this.failWith !== null) {
      const msg = this.failWith;
      this.failWith = null;
      throw new Error(msg);
    }
  }

  statistics(): StatsSnapshot {
    this.check('statistics');
    this.stats.activeFlows = this.flows.length;
    return { since: this.since, flow: this.stats, export: this.exported, capture: this.capture };
  }

  dumpFlows(): FlowDump {
    this.check('dumpFlows');
    return { now: this.now, flows: this.flows };
  }

  timeouts(): Timeouts {
    this.check('timeouts');
    return this.timeoutValues;
  }

  async expireAll(): Promise<number> {
    this.check('expireAll');
    // An export takes a moment on a real probe (pacing); the reply must wait for it.
    await new Promise((r) => setTimeout(r, 20));
    const n = this.flows.length;
    for (const f of this.flows) {
      const [h0, h1] = f.halves;
      const dur = f.endSec - f.startSec + (f.endNsec - f.startNsec) / 1e9;
      this.stats.recordExpired(f.protocol, h0.octets + h1.octets, h0.packets + h1.packets, dur, Reason.FLUSHED);
      const records = (h0.packets > 0 ? 1 : 0) + (h1.packets > 0 ? 1 : 0);
      this.exported.flowsExported += records;
      this.exported.recordsExported += records;
    }
    if (n > 0) this.exported.packetsExported++;
    this.flows = [];
    this.stats.activeFlows = 0;
    return n;
  }

  deleteAll(): number {
    this.check('deleteAll');
    const n = this.flows.length;
    this.flows = [];
    this.stats.activeFlows = 0;
    return n;
  }

  sendTemplate(): void {
    this.check('sendTemplate');
  }

  stopGather(): void {
    this.check('stopGather');
    this.gathering = false;
  }

  startGather(): void {
    this.check('startGather');
    this.gathering = true;
  }

  debug(delta: 1 | -1): void {
    this.check(delta > 0 ? 'debug+' : 'debug-');
    this.debugLevel = Math.max(0, this.debugLevel + delta);
  }

  shutdown(): void {
    this.check('shutdown');
  }

  exit(): void {
    this.check('exit');
  }
}
