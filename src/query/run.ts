/**
 * flowdump's core, apart from where records come from: read a RecordSource once, keep the flows inside the time
 * window that pass the filter (up to a limit), and print them, their aggregation, or top-N statistics, with
 * nfdump's header and footer. Everything the options could get wrong is checked before the first record is read.
 */
import { performance } from 'node:perf_hooks';
import type { FlowRecord } from '../wire/record.js';
import { compileFilter } from './compile.js';
import { endMs, startMs } from './format.js';
import { emptyTotals, printerFor, textPrinter, type Printer, type TextOptions, type Totals } from './output.js';
import type { RecordSource } from './source.js';
import { Aggregator, aggregationLayout, FIVE_TUPLE, parseAggregation, parseStatSpec, StatTable } from './stats.js';
import { parseTimeWindow } from './window.js';

export interface QueryOptions {
  /** Filter text in the filter language (parser.ts); empty or absent passes everything. */
  filter?: string;
  /** -o: line (default), long, extended, csv, json, or fmt:<tags>. */
  format?: string;
  /** -s: statistics such as "srcip/bytes"; when given, statistics are printed instead of flows. */
  stats?: string[];
  /** -n: rows per statistic (default 10; 0 = all). */
  topN?: number;
  /** -A: aggregation fields ("srcip,dstport"); -a is the 5-tuple, FIVE_TUPLE. */
  aggregate?: string;
  /** -c: stop after this many flows passed the filter. */
  limit?: number;
  /** -t: nfdump time window, yyyy/MM/dd.hh:mm:ss[-yyyy/MM/dd.hh:mm:ss]. */
  window?: string;
  /** -q: no header, no footer. */
  quiet?: boolean;
  /** -N: plain numbers (no M/G/T), protocols as numbers. */
  plain?: boolean;
}

/** Where output goes: process.stdout, or anything with a write method (tests collect strings). */
export interface Output {
  write(chunk: string): unknown;
}

export interface QueryResult {
  processed: number;
  passed: number;
}

export { FIVE_TUPLE };

/** Collects lines and writes them in chunks, so a million flows are not a million write calls. */
class LineWriter {
  private buf: string[] = [];
  private size = 0;

  constructor(private readonly out: Output) {}

  line(s: string): void {
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size >= 1 << 16) this.flush();
  }

  lines(ls: readonly string[]): void {
    for (const l of ls) this.line(l);
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.out.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
}

/** A checked query, ready to run once over one source. */
export interface QueryPlan {
  match: (r: FlowRecord) => boolean;
  window: { startMs: number; endMs: number } | null;
  format: string;
  quiet: boolean;
  limit: number;
  topN: number;
  text: TextOptions;
  stats: StatTable[];
  aggregator: Aggregator | null;
  printer: Printer;
}

/**
 * Checks every option and compiles the filter, throwing an Error with a one-line message for the first thing
 * wrong. runQuery does this itself; the CLI calls it first so that a typo is reported before any file is opened.
 */
export function planQuery(opts: QueryOptions): QueryPlan {
  const match = compileFilter(opts.filter ?? '');
  const window = opts.window ? parseTimeWindow(opts.window) : null;
  const text: TextOptions = { plain: opts.plain ?? false };
  const format = opts.format ?? 'line';
  const limit = opts.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw new Error(`-c ${limit}: the limit must be a whole number >= 0`);
  const topN = opts.topN ?? 10;
  if (!Number.isInteger(topN) || topN < 0) throw new Error(`-n ${topN}: the top N must be a whole number >= 0`);
  const stats = (opts.stats ?? []).map((s) => new StatTable(parseStatSpec(s)));
  if (stats.length > 0 && opts.aggregate) {
    throw new Error('-s and -A cannot be combined: -s ranks the flows themselves, -A prints merged flows');
  }
  if (stats.length > 0 && !(format === 'line' || format === 'csv' || format === 'json')) {
    throw new Error(`-s prints statistics as text, csv or json; -o ${format} does not apply`);
  }
  const fields = opts.aggregate ? parseAggregation(opts.aggregate) : null;
  const aggregator = fields ? new Aggregator(fields) : null;
  // Aggregated records in text get nfdump's automatic layout (time, key fields, counters) unless -o says otherwise.
  const printer =
    fields && format === 'line' ? textPrinter(aggregationLayout(fields), text) : printerFor(format, text, fields !== null);
  return { match, window, format, quiet: opts.quiet ?? false, limit, topN, text, stats, aggregator, printer };
}

export async function runQuery(opts: QueryOptions, source: RecordSource, out: Output): Promise<QueryResult> {
  const { match, window, format, quiet, limit, topN, text, stats, aggregator, printer } = planQuery(opts);
  const w = new LineWriter(out);
  const totals: Totals = emptyTotals();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const listing = stats.length === 0 && aggregator === null;
  if (listing && !quiet) w.lines(printer.header());

  await source.forEach((r: FlowRecord) => {
    totals.processed++;
    const first = startMs(r);
    const last = endMs(r);
    if (first < totals.windowFirstMs) totals.windowFirstMs = first;
    if (last > totals.windowLastMs) totals.windowLastMs = last;
    if (window !== null && (first < window.startMs || last > window.endMs)) return true;
    if (!match(r)) return true;

    totals.flows++;
    totals.packets += r.packets;
    totals.bytes += r.octets;
    if (first < totals.firstMs) totals.firstMs = first;
    if (last > totals.lastMs) totals.lastMs = last;
    if (aggregator !== null) aggregator.add(r);
    else if (stats.length > 0) for (const s of stats) s.add(r);
    else w.line(printer.record(r, 1));
    return limit === 0 || totals.flows < limit;
  });

  const cpu = process.cpuUsage(cpu0);
  totals.wallSec = (performance.now() - t0) / 1000;
  totals.sysSec = cpu.system / 1e6;
  totals.userSec = cpu.user / 1e6;
  totals.bytesRead = source.bytesRead ?? 0;
  if (window !== null) {
    // nfdump reports the part of the data's time span that the -t window lets through.
    totals.windowFirstMs = Math.max(totals.windowFirstMs, window.startMs);
    totals.windowLastMs = Math.min(totals.windowLastMs, window.endMs);
  }

  const none = totals.flows === 0;
  if (stats.length > 0) {
    if (none && format !== 'json') w.line('No matching flows');
    for (const s of stats) {
      if (format === 'csv') w.lines(s.csvReport(topN, totals));
      else if (format === 'json') w.lines(s.jsonReport(topN, totals));
      else w.lines(s.textReport(topN, totals, text, quiet));
    }
  } else if (aggregator !== null) {
    if (!quiet) w.lines(printer.header());
    const groups = aggregator.results();
    for (const g of groups) w.line(printer.record(g.rec, g.flows));
    if (none) w.lines(printer.noMatch());
  } else if (none) {
    w.lines(printer.noMatch());
  }
  if (!quiet) w.lines(printer.footer(totals));
  w.flush();
  return { processed: totals.processed, passed: totals.flows };
}
