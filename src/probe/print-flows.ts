/** Without -n, flows go to stdout as text, CSV or JSON lines, in flowdump's formats. */
import type { FlowRecord, FlowSink } from '../wire/record.js';
import { printerFor, type Printer } from '../query/output.js';
import type { FlowFormat } from './config.js';

const FORMAT_NAMES: Record<FlowFormat, string> = { text: 'line', long: 'long', csv: 'csv', json: 'json' };

export class FlowPrinter implements FlowSink {
  private readonly printer: Printer;
  private lines: string[] = [];
  private started = false;
  count = 0;

  constructor(
    format: FlowFormat,
    private readonly out: NodeJS.WritableStream,
  ) {
    this.printer = printerFor(FORMAT_NAMES[format], { plain: format === 'csv' || format === 'json' });
  }

  onFlow(rec: FlowRecord): void {
    if (!this.started) {
      this.started = true;
      this.lines.push(...this.printer.header());
    }
    this.lines.push(this.printer.record(rec, 1));
    this.count++;
    if (this.lines.length >= 1024) this.flush();
  }

  flush(): void {
    if (this.lines.length) this.out.write(this.lines.join('\n') + '\n');
    this.lines = [];
  }
}
