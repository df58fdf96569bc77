/**
 * flowcapd: the receiver. Listens for NetFlow v1/v5/v9 and IPFIX on UDP (IPv4 and IPv6), keeps each exporter's
 * session (src/collect), and writes the flows into rotating IPFIX files (src/store) and/or prints them as they
 * arrive. Its letters follow nfcapd's (-p -b -l/-w -t -s -B), so an nfcapd user can swap it in.
 */
import { Command, CommanderError } from 'commander';
import { Collector, DEFAULTS, addCounters, countersLine, parseCidr, type CollectorConfig } from '../collect/collector.js';
import {
  UdpListener, metaAddr, metaFamily, metaLength, metaPort, metaTruncated, metaWords, type Batch, type ListenError,
} from '../collect/listener.js';
import { ExporterCounters, type SessionSink } from '../collect/session.js';
import { FlowPrinter } from '../probe/print-flows.js';
import { withPort } from '../decode/address.js';
import type { FlowFormat } from '../probe/config.js';
import { FlowFileWriter, type ClosedFile } from '../store/writer.js';
import type { FlowRecord } from '../wire/record.js';
import { dirProblem } from '../control/unix.js';
import { collect, exitQuietlyOnClosedStdout, fail, oneLineErrors, VERSION } from './common.js';

/**
 * The longest -t: daily files. Slots are multiples of the interval since 1970, so a much longer one would start
 * long before now (a file named years back), and a huge one overflows the slot arithmetic.
 */
const MAX_INTERVAL = 86_400;
/** setsockopt(SO_RCVBUF) takes a C int. */
const MAX_RCVBUF = 2 ** 31 - 1;

/** A pause in the datagrams this long sends what they carried to the file (see `quiet` below): short, as a pause
 * at a steady rate is rare, and a collector that waits longer is a collector whose files lag. */
const QUIET_MS = 10;

const program = new Command('flowcapd')
  .description('Receive NetFlow v1/v5/v9 and IPFIX and store the flows in rotating IPFIX files (RFC 5655), or print them.')
  .version(VERSION, '--version', 'print the program version')
  .option('-p, --port <port>', 'UDP port to listen on', '9995')
  .option('-b, --bind <addr>', 'listen on this address only; repeatable (default: every IPv4 and IPv6 address)', collect)
  .option('-l, --dir <dir>', 'write flow files into this directory (must exist)')
  .option('-w, --write-dir <dir>', 'the same as -l (nfcapd 1.7 spelling)')
  .option('-t, --interval <secs>', `start a new file every SECS seconds (2..${MAX_INTERVAL}), on boundaries aligned to the clock`, '300')
  .option('--accept-from <cidr>', 'accept datagrams only from this network; repeatable (others are dropped and counted)', collect)
  .option('--ignore-port', 'one session per exporter address and domain, whatever its UDP source port (as nfcapd)')
  .option('-s, --sampling <N>', 'sampling rate 1:N for exporters that announce none; -N applies N to every exporter', '1')
  .option('--print', 'print flows to stdout as they arrive (text lines)')
  .option('-o, --output <format>', 'print flows to stdout as they arrive: text, long, csv or json (NDJSON)')
  .option('-B, --buffer-size <bytes>', 'socket receive buffer (the kernel caps it at net.core.rmem_max)', String(4 * 1024 * 1024))
  .option('--stats-interval <secs>', 'log every exporter\'s counters this often (0: at exit and on SIGUSR1 only)', '0')
  .option('--max-future <secs>', 'flows starting or ending this far after their arrival are kept apart as suspect', String(DEFAULTS.maxFutureMs / 1000))
  .option('--template-wait <secs>', 'hold data that arrives before its template this long', String(DEFAULTS.maxPendingAgeMs / 1000))
  .option('--max-exporters <N>', 'exporter sessions kept at once (least recently heard evicted)', String(DEFAULTS.maxSessions))
  .option('--max-templates <N>', 'templates kept per exporter session (oldest evicted)', String(DEFAULTS.maxTemplates))
  .option('--memory-buffer <MiB>', 'flows held in memory while the disk refuses them', '64')
  .configureOutput(oneLineErrors('flowcapd'))
  .exitOverride();

interface Opts {
  port: string;
  bind?: string[];
  dir?: string;
  writeDir?: string;
  interval: string;
  acceptFrom?: string[];
  ignorePort?: boolean;
  sampling: string;
  print?: boolean;
  output?: string;
  bufferSize: string;
  statsInterval: string;
  maxFuture: string;
  templateWait: string;
  maxExporters: string;
  maxTemplates: string;
  memoryBuffer: string;
}

function log(line: string): void {
  process.stderr.write(`flowcapd: ${line}\n`);
}

/** A whole-number option within its range, else one line saying the range: "-t 1: expected ... from 2 to 86400". */
function integer(text: string, option: string, min: number, max?: number, unit = ''): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    fail(`${option} ${text}: expected a whole number${unit ? ` of ${unit}` : ''} ${range}`);
  }
  return n;
}

const FORMATS: Record<string, FlowFormat> = { text: 'text', line: 'text', long: 'long', csv: 'csv', json: 'json' };

async function bind(addr: string, port: number, rcvbuf: number): Promise<UdpListener> {
  // A read error is logged once per kind; the socket goes on receiving.
  const l = await UdpListener.open(addr, port, { rcvbuf, onError: log });
  const got = l.rcvbuf;
  if (got.errno !== 0) log(`cannot set the receive buffer of ${addr} to ${rcvbuf} bytes: errno ${got.errno}`);
  return l;
}

function totals(c: Collector): ExporterCounters {
  const t = new ExporterCounters();
  addCounters(t, c.evictedTotals);
  for (const s of c.list()) addCounters(t, s.counters);
  return t;
}

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const o = program.opts<Opts>();
  if (program.args.length) fail(`unexpected argument "${program.args[0]}" (see flowcapd --help)`);
  const binds = o.bind ?? [];
  const port = integer(o.port, '-p', 1, 65535);
  const interval = integer(o.interval, '-t', 2, MAX_INTERVAL, 'seconds');
  const sampling = integer(o.sampling, '-s', -1e9, 1e9);
  if (sampling === 0) fail('-s 0: the sampling rate is 1:N with N >= 1 (or -N to override every exporter)');
  const dir = o.dir ?? o.writeDir;
  if (o.dir && o.writeDir && o.dir !== o.writeDir) fail('-l and -w name the same directory; give one');
  const format = o.output ?? (o.print ? 'text' : undefined);
  if (format !== undefined && !(format in FORMATS)) fail(`-o ${format}: use text, long, csv or json`);
  if (dir === undefined && format === undefined) fail('nothing to do: give -l DIR to store flows and/or --print / -o FORMAT to print them');
  const dirIssue = dir === undefined ? null : dirProblem(dir);
  if (dirIssue !== null) fail(`-l ${dir}: ${dirIssue}`);
  let acceptFrom;
  try {
    acceptFrom = (o.acceptFrom ?? []).map(parseCidr);
  } catch (e) {
    fail((e as Error).message);
  }
  const statsInterval = integer(o.statsInterval, '--stats-interval', 0, MAX_INTERVAL, 'seconds');
  const cfg: CollectorConfig = {
    ...DEFAULTS,
    sampling,
    stampExporter: true,
    ignorePort: o.ignorePort ?? false,
    acceptFrom,
    maxFutureMs: integer(o.maxFuture, '--max-future', 0, undefined, 'seconds') * 1000,
    maxPendingAgeMs: integer(o.templateWait, '--template-wait', 0, undefined, 'seconds') * 1000,
    maxSessions: integer(o.maxExporters, '--max-exporters', 1),
    maxTemplates: integer(o.maxTemplates, '--max-templates', 1),
  };
  const memoryBuffer = integer(o.memoryBuffer, '--memory-buffer', 1, 1 << 20, 'MiB') * 1024 * 1024;
  const rcvbuf = integer(o.bufferSize, '-B', 1024, MAX_RCVBUF, 'bytes');
  if (format !== undefined) exitQuietlyOnClosedStdout();

  // Per file, what the exporters reported since the previous one (nfcapd's rotation line).
  let collector: Collector;
  let lastSeq = 0;
  let lastBad = 0;
  const fileLine = (f: ClosedFile): void => {
    const t = totals(collector);
    log(`${f.path}: ${f.records} flows, ${f.packets} packets, ${f.octets} bytes; sequence errors ${t.sequenceErrors - lastSeq}, ` +
      `malformed packets ${t.malformed - lastBad}`);
    lastSeq = t.sequenceErrors;
    lastBad = t.malformed;
  };
  // The writers' clock: read once per datagram (and per tick), not once per flow.
  let clock = Date.now();
  const now = (): number => clock;
  let writer: FlowFileWriter | null = null;
  let suspect: FlowFileWriter | null = null;
  if (dir !== undefined) {
    try {
      writer = new FlowFileWriter({ dir, interval, now, keepEmpty: true, maxBufferBytes: memoryBuffer, log, onFileClosed: fileLine });
      suspect = new FlowFileWriter({ dir, interval, now, prefix: 'suspect', maxBufferBytes: memoryBuffer / 4, log });
    } catch (e) {
      fail(`-l ${dir}: ${(e as Error).message}`);
    }
  }
  const printer = format !== undefined ? new FlowPrinter(FORMATS[format], process.stdout) : null;
  let printScheduled = false;
  const sink: SessionSink = {
    onFlow(r: FlowRecord) {
      writer?.onFlow(r);
      printer?.onFlow(r);
    },
    onSuspect(r: FlowRecord) {
      // Kept apart in suspect.* files, so queries over flows.* see only plausible times; printed when not stored.
      if (suspect !== null) suspect.onFlow(r);
      else printer?.onFlow(r);
    },
    // Stored and not printed: sessions write plausible records straight from the datagram into the file.
    direct: printer === null ? writer : null,
  };
  collector = new Collector(cfg, sink, log);

  // When datagrams stop for QUIET_MS, what they carried goes to the file then rather than at the next tick (up to a
  // second later): the files are up to date soon after an exporter pauses, while a steady stream is still written
  // in batches. One timer, pushed back by each read.
  const quiet = setTimeout(() => {
    writer?.settle();
    suspect?.settle();
  }, QUIET_MS);
  quiet.unref();

  // One read's datagrams, each handed to its session from its slot's views: no per-datagram object at all.
  const onBatch = (b: Batch, n: number): void => {
    clock = Date.now();
    quiet.refresh();
    const { meta, slotBytes, slots, views } = b;
    for (let i = 0, o = 0; i < n; i++, o += metaWords) {
      if (meta[o + metaTruncated] !== 0) {
        collector.truncated(meta[o + metaFamily], meta[o + metaAddr], meta[o + metaAddr + 1], meta[o + metaAddr + 2],
          meta[o + metaAddr + 3], meta[o + metaPort], meta[o + metaTruncated], slotBytes);
      } else {
        collector.receiveAt(slots[i], views[i], meta[o + metaLength], meta[o + metaFamily], meta[o + metaAddr],
          meta[o + metaAddr + 1], meta[o + metaAddr + 2], meta[o + metaAddr + 3], meta[o + metaPort], clock);
      }
    }
    if (printer !== null && !printScheduled) {
      printScheduled = true;
      setImmediate(() => {
        printScheduled = false;
        printer.flush();
      });
    }
  };
  const sockets: UdpListener[] = [];
  const addrs = binds.length > 0 ? binds : ['0.0.0.0', '::'];
  for (const a of addrs) {
    try {
      sockets.push(await bind(a, port, rcvbuf));
    } catch (e) {
      const err = e as ListenError;
      // Without -b, a host without IPv6 still gets its IPv4 socket.
      if (binds.length === 0 && a === '::' && sockets.length > 0) {
        log(`no IPv6 socket (${err.code}); listening on IPv4 only`);
        continue;
      }
      fail(`cannot listen on ${a.includes(':') ? `[${a}]` : a}:${port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`);
    }
  }
  const report = (): void => {
    for (const s of collector.list()) log(countersLine(s.name, s.counters, s.templateCount));
    const c = collector.counters;
    const t = totals(collector);
    const w = writer?.stats;
    const sw = suspect?.stats;
    log(
      `total: ${c.datagrams} datagrams, ${t.flows} flows (${(sw?.records ?? 0)} with impossible times kept apart); ` +
        `dropped: ${c.rejected} by --accept-from, ${c.unknownVersion} not NetFlow/IPFIX, ${c.truncated} truncated, ` +
        `${sockets.reduce((n, s) => n + s.kernelDrops, 0)} by the kernel (socket buffer full, see -B); exporters evicted ${c.sessionsEvicted}, ` +
        `templates evicted overall ${collector.budget.templatesEvicted}` +
        (w && sw
          ? `; files ${w.files + sw.files}, flows written ${w.records + sw.records}, write errors ${w.writeErrors + sw.writeErrors}, ` +
            `flows dropped for lack of disk ${w.dropped + sw.dropped}`
          : ''),
    );
  };

  // A tick on every whole second: rotation happens within milliseconds of the boundary (they are whole seconds).
  let tickTimer: NodeJS.Timeout;
  const tick = (): void => {
    clock = Date.now();
    writer?.tick();
    suspect?.tick();
    collector.sweep(clock);
    tickTimer = setTimeout(tick, 1000 - (Date.now() % 1000) + 2);
  };
  tickTimer = setTimeout(tick, 1000 - (Date.now() % 1000) + 2);
  const statsTimer = statsInterval > 0 ? setInterval(report, statsInterval * 1000) : null;

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(tickTimer);
    clearTimeout(quiet);
    if (statsTimer) clearInterval(statsTimer);
    clock = Date.now();
    for (const s of sockets) {
      s.drain(onBatch);
      s.close();
    }
    printer?.flush();
    const ok = [writer?.close() ?? true, suspect?.close() ?? true].every(Boolean);
    report();
    log(`${signal}: stopped${ok ? '' : ', with flows that could not be written (see above)'}`);
    process.stdout.write('', () => process.exit(ok ? 0 : 1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    clock = Date.now();
    writer?.rotate();
    suspect?.rotate();
  });
  process.on('SIGUSR1', report);

  // Said last: whoever waits for this line may signal at once, and the handlers above are in place by then.
  for (const s of sockets) s.start(onBatch);
  const where = sockets.map((s) => withPort(s.address, s.port, s.family));
  log(
    `listening on ${where.join(' and ')} for NetFlow v1/v5/v9 and IPFIX` +
      (dir !== undefined ? `; writing ${dir}/flows.* every ${interval} s` : '') +
      (format !== undefined ? `; printing flows as ${format}` : '') +
      (acceptFrom.length ? `; accepting only ${acceptFrom.map((c) => c.text).join(', ')}` : ''),
  );
}

main().catch((e: Error) => fail(e.message));
