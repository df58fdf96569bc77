/**
 * A real nfcapd (nfdump 1.7.1) as a test peer: start it on a free loopback port with its own flow directory,
 * wait until it has read everything sent to it, stop it by PID, and read its flows back through nfdump.
 * Used by the wire tests and by the softflowd oracle tests.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** One flow as nfdump prints it. Times are ms since the epoch; MACs as "aa:bb:cc:dd:ee:ff". */
export interface NfFlow {
  startMs: number;
  endMs: number;
  proto: number;
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  /** For ICMP nfdump prints type.code; this is type·256+code, as on the wire. */
  dstPort: number;
  /** TCP flags as a number (from nfdump's "UAPRSF" string; C and E bits included). */
  tcpFlags: number;
  tos: number;
  packets: number;
  bytes: number;
  inIf: number;
  outIf: number;
  srcVlan: number;
  dstVlan: number;
  inSrcMac: string;
  outDstMac: string;
  inDstMac: string;
  /** MPLS labels as nfdump prints them ("label-exp-S"), top first. */
  mpls: string[];
  /** flowDirection as nfdump shows it: I(ngress) = 0, E(gress) = 1. */
  direction: number;
  flows: number;
  /** Reverse direction of a biflow (RFC 5103 reverse octets/packets). */
  outPackets: number;
  outBytes: number;
}

export interface Nfcapd {
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** Everything nfcapd logged so far (it logs to stderr in the foreground). */
  log(): string;
  /** Resolves once the kernel holds no unread datagram for nfcapd's socket. */
  drained(timeoutMs?: number): Promise<void>;
  /** Drains, then SIGTERM by PID and waits for exit (nfcapd renames its current file on the way out). */
  stop(): Promise<void>;
  /** Stops nfcapd if it is running, then reads every flow file through nfdump. */
  flows(filter?: string): Promise<NfFlow[]>;
  /** Stops nfcapd and removes its directory. */
  cleanup(): Promise<void>;
}

export interface NfcapdOptions {
  /** Socket receive buffer (-B); the kernel caps it at net.core.rmem_max. */
  bufferBytes?: number;
  extraArgs?: string[];
  /** Listen on this port instead of a free one (a collector that comes back where a probe already sends). */
  port?: number;
  /** IPv4 address to listen on (default 127.0.0.1): one on an interface the test made, for a collector across a veth. */
  bind?: string;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => res());
  });
  const { port } = s.address();
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/** rx_queue of the UDP socket bound to addr:port, from /proc/net/udp (null if not found). */
async function rxQueue(addr: string, port: number): Promise<number | null> {
  const text = await readFile('/proc/net/udp', 'utf8');
  // The kernel prints the address as one 32-bit word in host (little-endian) order: 127.0.0.1 is 0100007F.
  const hex = addr.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
  const want = `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === want) return parseInt(cols[4].split(':')[1], 16);
  }
  return null;
}

export async function startNfcapd(opts: NfcapdOptions = {}): Promise<Nfcapd> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tryStart(opts);
    } catch (e) {
      // Another process may have taken the port between freeUdpPort and nfcapd's bind; a given port is not retried.
      if (attempt >= 3 || opts.port !== undefined) throw e;
    }
  }
}

async function tryStart(opts: NfcapdOptions): Promise<Nfcapd> {
  const port = opts.port ?? (await freeUdpPort());
  const dir = await mkdtemp(join(tmpdir(), 'nfcapd-'));
  const args = ['-w', dir, '-p', String(port), '-b', opts.bind ?? '127.0.0.1', '-t', '3600', '-C', 'none'];
  if (opts.bufferBytes) args.push('-B', String(opts.bufferBytes));
  args.push(...(opts.extraArgs ?? []));
  const child = spawn('nfcapd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let logText = '';
  child.stdout!.on('data', (d: Buffer) => (logText += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logText += d.toString()));
  const ready = await new Promise<boolean>((res) => {
    const t = setTimeout(() => res(false), 5000);
    const check = (): void => {
      if (logText.includes('Startup nfcapd.')) {
        clearTimeout(t);
        res(true);
      }
    };
    child.stderr!.on('data', check);
    child.stdout!.on('data', check);
    child.once('exit', () => {
      clearTimeout(t);
      res(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`nfcapd did not start on port ${port}: ${logText.trim()}`);
  }

  const drained = async (timeoutMs = 5000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const q = await rxQueue(opts.bind ?? '127.0.0.1', port);
      if (q === 0 || q === null) break;
      if (Date.now() > deadline) throw new Error(`nfcapd on port ${port} still has ${q} bytes unread`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The last datagram has left the socket; give nfcapd a moment to finish processing it.
    await new Promise((r) => setTimeout(r, 100));
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await drained().catch(() => undefined);
    process.kill(child.pid!, 'SIGTERM');
    if (!(await waitExit(child, 5000))) {
      process.kill(child.pid!, 'SIGKILL');
      await waitExit(child, 2000);
    }
  };

  return {
    port,
    dir,
    pid: child.pid!,
    log: () => logText,
    drained,
    stop,
    async flows(filter?: string): Promise<NfFlow[]> {
      await stop();
      const files = (await readdir(dir)).filter((f) => /^nfcapd\.\d+$/.test(f)).sort();
      const out: NfFlow[] = [];
      for (const f of files) out.push(...(await readNfdump(join(dir, f), filter)));
      return out;
    },
    async cleanup(): Promise<void> {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The fields we read, '|'-separated. `%ts`/`%te` carry milliseconds (`%ter` prints wrong ones in 1.7.1); with
 * -N numbers are plain and the protocol is a number.
 */
const FIELDS = [
  '%ts', '%te', '%pr', '%sa', '%da', '%sp', '%dp', '%flg', '%tos', '%pkt', '%byt', '%in', '%out',
  '%svln', '%dvln', '%ismc', '%odmc', '%idmc', '%mpls1', '%mpls2', '%mpls3', '%dir', '%fl', '%opkt', '%obyt',
];
const FORMAT = 'fmt:' + FIELDS.join('|');

/** nfdump with the environment its output parsing needs (UTC dates). */
export async function nfdump(args: string[]): Promise<string> {
  const { stdout } = await execFileP('nfdump', args, {
    env: { ...process.env, TZ: 'UTC' },
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/** Every flow of one nfcapd file (or directory), optionally filtered with nfdump's filter language. */
export async function readNfdump(path: string, filter?: string): Promise<NfFlow[]> {
  const args = ['-r', path, '-q', '-N', '-6', '-o', FORMAT];
  if (filter) args.push(filter);
  const text = await nfdump(args);
  const flows: NfFlow[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('|')) continue;
    const c = line.split('|').map((s) => s.trim());
    flows.push({
      startMs: parseNfTime(c[0]),
      endMs: parseNfTime(c[1]),
      proto: parseProto(c[2]),
      srcAddr: c[3],
      dstAddr: c[4],
      srcPort: Number(c[5]),
      dstPort: parsePort(c[6]),
      tcpFlags: parseFlags(c[7]),
      tos: Number(c[8]),
      packets: Number(c[9]),
      bytes: Number(c[10]),
      inIf: Number(c[11]),
      outIf: Number(c[12]),
      srcVlan: Number(c[13]),
      dstVlan: Number(c[14]),
      inSrcMac: c[15],
      outDstMac: c[16],
      inDstMac: c[17],
      mpls: [c[18], c[19], c[20]],
      direction: c[21] === 'E' ? 1 : c[21] === 'I' ? 0 : Number(c[21]),
      flows: Number(c[22]),
      outPackets: Number(c[23]),
      outBytes: Number(c[24]),
    });
  }
  return flows;
}

/** "2026-11-24 19:42:48.790" (UTC) → ms since the epoch. */
export function parseNfTime(s: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?$/.exec(s);
  if (!m) throw new Error(`unexpected nfdump time '${s}'`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? +m[7] : 0);
}

const PROTO_NAMES: Record<string, number> = { ICMP: 1, TCP: 6, UDP: 17, ICMP6: 58, IPv6: 41, GRE: 47, ESP: 50 };
function parseProto(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : (PROTO_NAMES[s] ?? NaN);
}

/** "8.0" (ICMP type.code) or a number. */
function parsePort(s: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(s);
  return m ? Number(m[1]) * 256 + Number(m[2]) : Number(s);
}

/** nfdump's 8-character flag string, most significant first: C E U A P R S F ('.' = clear). */
export function parseFlags(s: string): number {
  if (!/^[.CEUAPRSF]{8}$/.test(s)) throw new Error(`unexpected nfdump TCP flags '${s}'`);
  const letters = 'CEUAPRSF';
  let v = 0;
  for (let i = 0; i < s.length && i < 8; i++) if (s[i] === letters[i]) v |= 1 << (7 - i);
  return v;
}
