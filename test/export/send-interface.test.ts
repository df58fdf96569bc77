/**
 * -S (softflowd's send interface): export sockets bound to a device (SO_BINDTODEVICE) send by that device whatever
 * the routes say. Two veth pairs of the test's own, in the root namespace: A has the route to the collector's
 * subnet (10.249.N.0/24, the collector's neighbour entry written by hand so nothing but our datagrams goes out),
 * B has no address at all. The datagrams go onto the veth wire and no further; we count them with the interfaces'
 * transmit counters. Needs root, to make the interfaces.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UdpTransport } from '../../src/export/transport.js';
import { parseProbeArgs } from '../../src/probe/options.js';
import { FLOWPROBE } from '../helpers/probe-process.js';

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const tag = process.pid % 100000;
const A = `fpS${tag}a`;
const B = `fpS${tag}b`;
const NET = `10.249.${tag % 250}`;
const COLLECTOR = `${NET}.2`;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

function tx(dev: string): number {
  return Number(fs.readFileSync(`/sys/class/net/${dev}/statistics/tx_packets`, 'utf8'));
}

describe.skipIf(!root)('export by a named interface (-S)', () => {
  beforeAll(async () => {
    for (const dev of [A, B]) {
      await ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
      for (const end of [dev, `${dev}p`]) {
        // No IPv6 on the wires (no router solicitations or ND among the counted packets).
        await run('sysctl', ['-qw', `net.ipv6.conf.${end}.disable_ipv6=1`]);
        await ip('link', 'set', end, 'up');
      }
    }
    await ip('addr', 'add', `${NET}.1/24`, 'dev', A);
    await ip('neigh', 'replace', COLLECTOR, 'lladdr', '02:00:00:00:00:02', 'dev', A);
  });
  afterAll(async () => {
    for (const dev of [A, B]) await ip('link', 'del', dev).catch(() => undefined);
  });

  async function sendFive(sendInterface?: string): Promise<{ a: number; b: number; failures: number }> {
    const a0 = tx(A);
    const b0 = tx(B);
    const t = await UdpTransport.open([{ host: COLLECTOR, port: 2055 }], { rate: 0, sendInterface });
    for (let i = 0; i < 5; i++) t.send(new Uint8Array(100).fill(i));
    await t.close();
    return { a: tx(A) - a0, b: tx(B) - b0, failures: t.stats.failures };
  }

  it('sends by the bound interface, not by the route\'s; by the route\'s without -S', async () => {
    expect(await sendFive()).toEqual({ a: 5, b: 0, failures: 0 });
    expect(await sendFive(A)).toEqual({ a: 5, b: 0, failures: 0 });
    // Bound to B, which has no route to the collector: nothing leaves by A.
    const byB = await sendFive(B);
    expect(byB.a).toBe(0);
  });

  it('says which device in one line when it is not there', async () => {
    await expect(UdpTransport.open([{ host: COLLECTOR, port: 2055 }], { sendInterface: 'fpSnosuch0' })).rejects.toThrow(
      /cannot bind the export socket to device fpSnosuch0: No such device/,
    );
  });

  it('flowprobe -S sends every export datagram of a pcap job by that interface', { timeout: 60_000 }, async () => {
    const pcap = path.resolve(__dirname, '../../pcaps/pcapplusplus-example2.pcap');
    const job = async (dev: string): Promise<{ datagrams: number; byA: number }> => {
      const a0 = tx(A);
      const args = ['-r', pcap, '-n', `${COLLECTOR}:2055`, '-v', '9', '-S', dev, '--export-rate', '0', '--no-progress'];
      const { stdout } = await run(process.execPath, [FLOWPROBE, ...args]);
      const m = /Flows exported: \d+ records in (\d+) datagrams/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      return { datagrams: Number(m![1]), byA: tx(A) - a0 };
    };
    const byA = await job(A);
    expect(byA.datagrams).toBeGreaterThan(0);
    expect(byA.byA).toBe(byA.datagrams);
    // The same job bound to B: the route's interface sends none of them.
    expect((await job(B)).byA).toBe(0);
  });
});

describe('-S on the command line', () => {
  it('takes an interface name and refuses what cannot be one', () => {
    const pcap = path.resolve(__dirname, '../../pcaps/pcapplusplus-example2.pcap');
    expect(parseProbeArgs(['-r', pcap, '-n', '127.0.0.1:2055', '-S', 'eth0']).sendInterface).toBe('eth0');
    expect(parseProbeArgs(['-r', pcap, '-n', '127.0.0.1:2055']).sendInterface).toBeUndefined();
    for (const bad of ['', 'a b', 'sixteen-chars-xx', 'eth0:1', '../x']) {
      expect(() => parseProbeArgs(['-r', pcap, '-n', '127.0.0.1:2055', '-S', bad]), bad).toThrow(/-S .*not an interface name/);
    }
  });
});
