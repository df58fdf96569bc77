/**
 * A network namespace joined to this one by a veth pair, for live-capture tests: the probe captures on the host
 * end, tcpreplay sends into the namespace end, and nothing leaves the machine. Needs root (CAP_NET_ADMIN).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface VethNamespace {
  readonly ns: string;
  /** The end left in this namespace: capture here. */
  readonly hostIf: string;
  /** The end inside the namespace: send from here. */
  readonly nsIf: string;
  /** Runs a program inside the namespace. */
  exec(file: string, args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  /** Deletes the namespace and the pair; safe to call twice, and after a half-finished setup. */
  remove(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  await execFileP('ip', args, { timeout: 10_000 });
}

async function quietly(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch {
    // Cleanup of something that may not exist.
  }
}

/**
 * Interface names hold at most 15 bytes (IFNAMSIZ - 1), so `tag` should be short: a pid or a counter.
 * IPv6 is switched off on both ends before they come up and neither end gets an address, so the kernel never
 * sends anything on the pair (no router solicitation, MLD report or DAD probe): the host end sees exactly the
 * frames sent into the namespace end.
 */
export async function createVethNamespace(tag: string): Promise<VethNamespace> {
  const ns = `flowprobe-test-${tag}`;
  const hostIf = `fpt${tag}h`;
  const nsIf = `fpt${tag}n`;
  if (Buffer.byteLength(hostIf) > 15) throw new Error(`veth name ${hostIf} is longer than 15 bytes: use a shorter tag`);
  const remove = async (): Promise<void> => {
    // Deleting the namespace destroys the end inside it, and with it the pair.
    await quietly(() => ip(['netns', 'del', ns]));
    await quietly(() => ip(['link', 'del', hostIf]));
  };
  const exec = (file: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> =>
    execFileP('ip', ['netns', 'exec', ns, file, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });

  // Left over from a run of the same pid that was killed before its cleanup.
  await remove();
  try {
    await ip(['netns', 'add', ns]);
    await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await ip(['link', 'set', nsIf, 'netns', ns]);
    if (fs.existsSync(`/proc/sys/net/ipv6/conf/${hostIf}`)) {
      fs.writeFileSync(`/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, '1');
      await exec('sysctl', ['-qw', `net.ipv6.conf.${nsIf}.disable_ipv6=1`], 10_000);
    }
    await ip(['link', 'set', hostIf, 'up']);
    await exec('ip', ['link', 'set', nsIf, 'up'], 10_000);
  } catch (e) {
    await remove();
    throw new Error(`cannot set up namespace ${ns} with veth ${hostIf}/${nsIf}: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ns, hostIf, nsIf, exec, remove };
}

export interface Replay {
  /** tcpreplay's "Successful packets". */
  sent: number;
  failed: number;
  output: string;
}

/** tcpreplay at a fixed packet rate out of the namespace end. */
export async function replay(v: VethNamespace, file: string, pps: number): Promise<Replay> {
  const { stdout, stderr } = await v.exec('tcpreplay', ['-i', v.nsIf, `--pps=${pps}`, file], 300_000);
  const output = stdout + stderr;
  const sent = /Successful packets:\s+(\d+)/.exec(output);
  const failed = /Failed packets:\s+(\d+)/.exec(output);
  if (!sent || !failed) throw new Error(`unexpected tcpreplay output: ${output.trim()}`);
  return { sent: Number(sent[1]), failed: Number(failed[1]), output };
}
