/**
 * flowdump: read stored flows, filter them, and print them, their aggregation or top-N statistics. Its letters
 * and its output follow nfdump's, so an nfdump user can swap it in. The query itself is src/query/run.ts; this
 * file parses the command line and opens the flow files through the store's reader.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { compileFilter } from '../query/compile.js';
import { FIVE_TUPLE, planQuery, runQuery, type QueryOptions } from '../query/run.js';
import type { RecordSource } from '../query/source.js';
import { collect, fail, oneLineErrors, VERSION } from './common.js';
import { pathReason } from '../control/unix.js';

const program = new Command('flowdump')
  .usage('[options] [filter ...]')
  .description('Read flow files written by flowcapd (or flowprobe -w), filter them and print flows or statistics.')
  .version(VERSION, '--version', 'print the program version')
  .option('-r, --read <file>', 'read this flow file; repeatable', collect)
  .option('-R, --read-dir <dir>', 'read every flow file in this directory, oldest first; repeatable', collect)
  .option('-t, --time <window>', 'only flows wholly inside START[-END], each yyyy/MM/dd.hh:mm:ss in local time ' +
    '(trailing parts may be left out; START alone means from then on)')
  .option('-f, --filter-file <file>', 'read the filter from this file (# starts a comment)')
  .option('-o, --output <format>', 'line, long, extended, csv, json (NDJSON) or fmt:<%tags>', 'line')
  .option('-s, --stat <element[/order]>', 'top-N statistic: srcip dstip ip srcport dstport port proto ... ' +
    'ordered by flows packets bytes pps bps bpp; repeatable', collect)
  .option('-n, --top <N>', 'rows per statistic (0 = all)', '10')
  .option('-A, --aggregate <fields>', 'merge flows on these fields: srcip,dstip,srcport,dstport,proto,srcip4/N,...')
  .option('-a, --aggregate-flows', `merge flows on the 5-tuple (${FIVE_TUPLE})`)
  .option('-c, --count <N>', 'stop after N flows have passed the filter')
  .option('-q, --quiet', 'no header and no summary')
  .option('-N, --plain', 'plain numbers: no M/G/T scaling, protocols as numbers')
  .option('-Z, --check', 'check the filter syntax and exit')
  .argument('[filter...]', 'filter, nfdump-style: proto, host, net, port, flags, packets, bytes, and, or, not, ( )')
  .configureOutput(oneLineErrors('flowdump'))
  .exitOverride();

interface Opts {
  read?: string[];
  readDir?: string[];
  time?: string;
  filterFile?: string;
  output: string;
  stat?: string[];
  top: string;
  aggregate?: string;
  aggregateFlows?: boolean;
  count?: string;
  quiet?: boolean;
  plain?: boolean;
  check?: boolean;
}

/** The store's reader, loaded only when files are read; see openFlowFiles. */
interface StoreReader {
  openRecordSource(paths: { files: string[]; dirs: string[] }): RecordSource;
}

/**
 * Opens flow files through src/store/reader.ts. The import is by a computed name so that flowdump builds and its
 * query side works (and is tested) whether or not the store is part of this tree; a build without it says so.
 */
async function openFlowFiles(files: string[], dirs: string[]): Promise<RecordSource> {
  const readerModule = '../store/reader.js';
  let store: StoreReader;
  try {
    store = (await import(readerModule)) as StoreReader;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('store/reader')) {
      fail('this build has no flow file reader (src/store/reader.ts), so -r/-R cannot be read');
    }
    throw e;
  }
  return store.openRecordSource({ files, dirs });
}

/** An UnreadablePath from the reader, said as the option that named the path: "-R /var/flows: no such directory". */
function optionMessage(e: Error): string {
  if (e.name !== 'UnreadablePath') return e.message;
  const u = e as Error & { given: string; kind: 'file' | 'directory'; path: string; reason: string };
  const where = u.given === u.path ? '' : `${u.path}: `;
  return `${u.kind === 'file' ? '-r' : '-R'} ${u.given}: ${where}${u.reason}`;
}

/** Why the filter file could not be read, in words ("no such file", "permission denied"). */
function fileReason(e: unknown): string {
  return (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'a directory, not a filter file' : pathReason(e, 'file');
}

function wholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text)) fail(`${option} ${text}: expected a whole number`);
  return Number(text);
}

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const o = program.opts<Opts>();

  let filter = program.args.join(' ');
  if (o.filterFile !== undefined) {
    if (filter) fail('give the filter either on the command line or with -f, not both');
    try {
      filter = readFileSync(o.filterFile, 'utf8');
    } catch (e) {
      fail(`-f ${o.filterFile}: ${fileReason(e)}`);
    }
  }
  if (o.check) {
    compileFilter(filter);
    return;
  }
  if (o.aggregate && o.aggregateFlows) fail('-a and -A cannot be combined: -a is -A ' + FIVE_TUPLE);

  const opts: QueryOptions = {
    filter,
    format: o.output,
    stats: o.stat ?? [],
    topN: wholeNumber(o.top, '-n'),
    aggregate: o.aggregateFlows ? FIVE_TUPLE : o.aggregate,
    limit: o.count === undefined ? undefined : wholeNumber(o.count, '-c'),
    window: o.time,
    quiet: o.quiet,
    plain: o.plain,
  };
  // Everything about the query is checked before any file is opened: a typo should not wait for a scan.
  planQuery(opts);
  const files = o.read ?? [];
  const dirs = o.readDir ?? [];
  if (files.length === 0 && dirs.length === 0) fail('no input: give -r FILE or -R DIR (see flowdump --help)');

  // A reader that quits early (flowdump ... | head) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    fail(`writing output: ${e.message}`);
  });
  const source = await openFlowFiles(files, dirs);
  await runQuery(opts, source, process.stdout);
}

main().catch((e: Error) => fail(optionMessage(e)));
