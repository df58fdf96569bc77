/** The probe's settings, parsed and checked once from softflowd-style options. */
import { DEFAULT_TIMEOUTS, parseTimeoutOption, checkTimeouts, type Timeouts } from '../flow/expiry.js';
import { TRACKING_LEVELS, type TrackingLevel } from '../flow/table.js';
import { parseCollector, type CollectorAddress, DEFAULT_EXPORT_RATE } from '../export/transport.js';
import type { ExportVersion } from '../export/exporter.js';
import type { TimeMode } from '../wire/template.js';

export type FlowFormat = 'text' | 'long' | 'csv' | 'json';

export interface ProbeConfig {
  interface?: string;
  ifIndex: number;
  files: string[];
  collectors: CollectorAddress[];
  version: ExportVersion;
  timeouts: Timeouts;
  maxFlows: number;
  tracking: TrackingLevel;
  trackV6: boolean;
  octets: 'ip' | 'link';
  sampling: number;
  time?: TimeMode;
  biflow: boolean;
  mplsLabels: number;
  loadBalance: boolean;
  hopLimit?: number;
  /** -S: the interface export datagrams leave by. */
  sendInterface?: string;
  snaplen?: number;
  bufferSize?: number;
  promisc: boolean;
  filter?: string;
  format: FlowFormat;
  /** -w DIR: also store flows in rotating files (RFC 5655), every rotateSeconds. */
  writeDir?: string;
  rotateSeconds: number;
  exportRate: number;
  ctlSock: string | null;
  /** Permissions of the control socket file (--ctl-mode); connecting to it needs write permission. */
  ctlMode: number;
  /** Written in daemon mode (default path), or in the foreground when -p is given. */
  pidFile: string | null;
  foreground: boolean;
  debug: boolean;
  progress: boolean;
}

/** Raw option values as commander hands them over. */
export interface RawOptions {
  interface?: string;
  /** Repeatable options: absent when not given (commander would print an empty default in --help). */
  read?: string[];
  collector?: string[];
  exportVersion?: string;
  timeout?: string[];
  maxFlows?: string;
  track?: string;
  trackIpv6?: boolean;
  octets?: string;
  sampling?: string;
  timeFormat?: string;
  bidirectional?: boolean;
  mplsLabels?: string;
  loadBalance?: boolean;
  hoplimit?: string;
  snaplen?: string;
  bufferSize?: string;
  promisc?: boolean;
  format?: string;
  exportRate?: string;
  ctlSock?: string;
  ctlMode?: string;
  pidfile?: string;
  foreground?: boolean;
  debug?: boolean;
  transport?: string;
  sendInterface?: string;
  progress?: boolean;
  writeDir?: string;
  rotate?: string;
}

export const DEFAULT_CTL_SOCK = '/var/run/flowprobe.ctl';
export const DEFAULT_PIDFILE = '/var/run/flowprobe.pid';

function int(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new Error(`${name} "${text}": expected a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${name} ${n}: must be between ${min} and ${max}`);
  return n;
}

/**
 * --ctl-mode: octal permission bits of the control socket, e.g. 0660 to let a group drive the probe. Only the
 * permission bits: set-id and sticky bits mean nothing on a socket. The owner must keep write permission, or the
 * probe's own user could no longer stop it through the socket.
 */
function parseCtlMode(text: string | undefined): number {
  if (text === undefined) return 0o600;
  if (!/^0?[0-7]{3}$/.test(text.trim())) throw new Error(`--ctl-mode ${text}: expected octal permissions such as 0600 or 0660`);
  const mode = parseInt(text.trim(), 8);
  if (!(mode & 0o200)) throw new Error(`--ctl-mode ${text}: the owner needs write permission to use the socket`);
  return mode;
}

/** Checks every option and returns the settings, or throws an Error whose message is the one line to print. */
export function buildConfig(raw: RawOptions, filterWords: string[]): ProbeConfig {
  const o = { ...raw, read: raw.read ?? [], collector: raw.collector ?? [], timeout: raw.timeout ?? [] };
  const versionText = o.exportVersion ?? '5';
  if (!['1', '5', '9', '10'].includes(versionText)) {
    throw new Error(`-v ${versionText}: NetFlow version must be 1, 5, 9 or 10 (IPFIX)`);
  }
  const version = Number(versionText) as ExportVersion;
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
  for (const t of o.timeout) parseTimeoutOption(t, timeouts);
  checkTimeouts(timeouts);
  const tracking = (o.track ?? 'full').toLowerCase() as TrackingLevel;
  if (!TRACKING_LEVELS.includes(tracking)) {
    throw new Error(`-T ${o.track}: tracking level must be one of ${TRACKING_LEVELS.join(', ')}`);
  }
  const octets = o.octets ?? 'ip';
  if (octets !== 'ip' && octets !== 'link') throw new Error(`--octets ${octets}: must be "ip" or "link"`);
  let time: TimeMode | undefined;
  if (o.timeFormat !== undefined) {
    const t = o.timeFormat.toLowerCase();
    if (!['sec', 'milli', 'micro', 'nano'].includes(t)) throw new Error(`-A ${o.timeFormat}: must be sec, milli, micro or nano`);
    time = t as TimeMode;
  }
  const biflow = !!o.bidirectional;
  if (biflow && version !== 10) throw new Error('-b (bidirectional records, RFC 5103) needs IPFIX: add -v 10');
  if (o.transport && o.transport.toLowerCase() !== 'udp') {
    throw new Error(`-P ${o.transport}: only UDP export is supported`);
  }
  // Linux's IFNAMSIZ is 16 with the terminating NUL.
  if (o.sendInterface !== undefined && !/^[^\s/:]{1,15}$/.test(o.sendInterface)) {
    throw new Error(`-S ${o.sendInterface}: not an interface name (1 to 15 characters, no spaces, '/' or ':')`);
  }
  if (o.sendInterface !== undefined && o.collector.length === 0) {
    throw new Error(`-S ${o.sendInterface}: there is no collector (-n) to send to`);
  }
  const format = (o.format ?? 'text') as FlowFormat;
  if (!['text', 'long', 'csv', 'json'].includes(format)) throw new Error(`--format ${o.format}: must be text, long, csv or json`);

  let iface = o.interface;
  let ifIndex = 0;
  if (iface) {
    const m = /^(\d+):(.+)$/.exec(iface);
    if (m) {
      ifIndex = Number(m[1]);
      if (ifIndex > 65535) throw new Error(`-i ${iface}: interface index must be 0..65535`);
      iface = m[2];
    }
  }
  if (iface && o.read.length) throw new Error('-i and -r cannot be used together: give a live interface or capture files');
  if (!iface && !o.read.length) throw new Error('-i or -r option not specified (see flowprobe --help)');

  const ctl = o.ctlSock === undefined ? (o.read.length ? null : DEFAULT_CTL_SOCK) : o.ctlSock === 'none' ? null : o.ctlSock;
  return {
    interface: iface,
    ifIndex,
    files: o.read,
    collectors: o.collector.flatMap((c) => c.split(',')).map((c) => parseCollector(c.trim())),
    version,
    timeouts,
    maxFlows: int('-m', o.maxFlows, 1, 100_000_000) ?? 8192,
    tracking,
    // softflowd tracks IPv6 when the export can carry it, or with -6; printed flows can always show it.
    trackV6: version >= 9 || !!o.trackIpv6 || !!o.debug || o.collector.length === 0,
    octets,
    sampling: int('-s', o.sampling, 0, 0x3fff) ?? 0,
    time,
    biflow,
    mplsLabels: int('-x', o.mplsLabels, 0, 10) ?? 0,
    loadBalance: !!o.loadBalance,
    hopLimit: int('-L', o.hoplimit, 0, 255),
    sendInterface: o.sendInterface,
    snaplen: int('-C', o.snaplen, 64, 262144),
    bufferSize: int('-B', o.bufferSize, 0, 2 ** 31 - 1),
    promisc: o.promisc !== false,
    filter: filterWords.length ? filterWords.join(' ') : undefined,
    format,
    writeDir: o.writeDir,
    rotateSeconds: int('--rotate', o.rotate, 1, 86400) ?? 300,
    exportRate: int('--export-rate', o.exportRate, 0, 10_000_000) ?? DEFAULT_EXPORT_RATE,
    ctlSock: ctl,
    ctlMode: parseCtlMode(o.ctlMode),
    pidFile: o.pidfile ?? (o.foreground || o.debug ? null : DEFAULT_PIDFILE),
    foreground: !!o.foreground || !!o.debug,
    debug: !!o.debug,
    progress: o.progress ?? !!process.stderr.isTTY,
  };
}
