/**
 * flowprobectl: softflowctl's counterpart. Sends one command to a running flowprobe, or softflowd, over its
 * control socket and copies the reply to stdout.
 */
import { Command, CommanderError } from 'commander';
import { ControlClientError, isRefusal, sendCommand } from '../control/client.js';
import { parseStatistics } from '../control/format.js';
import { fail, oneLineErrors, VERSION } from './common.js';

const DEFAULT_SOCKET = '/var/run/flowprobe.ctl';

const program = new Command('flowprobectl')
  .usage('[-c ctlsock] command')
  .description('Send a command to a running flowprobe (or softflowd) over its control socket and print the reply.')
  .argument('<command>', 'control command (see below)')
  .option('-c, --ctlsock <path>', 'control socket of the daemon', DEFAULT_SOCKET)
  .option('--json', 'with statistics: print the figures as JSON (works with softflowd too)')
  .option('-t, --timeout <seconds>', 'give up when the daemon stays silent this long', '30')
  .version(VERSION, '--version', 'print the program version')
  .addHelpText(
    'after',
    `
Commands:
  statistics       counters since start (add --json for JSON)
  dump-flows       every flow in the table
  timeouts         the expiry timeouts in use
  expire-all       expire and export every flow now
  delete-all       drop every flow without exporting it
  send-template    send the v9/IPFIX templates with the next export
  stop-gather      stop reading packets
  start-gather     resume reading packets
  debug+, debug-   turn debug output on or off
  shutdown         export all flows and exit
  exit             exit without exporting
  help             the daemon's list of commands
  statistics-json  the statistics as one line of JSON (flowprobe only; --json uses it)

Exit status: 0 when the daemon answered, 1 when it could not be reached, 2 when it refused the command.`,
  )
  .configureOutput(oneLineErrors('flowprobectl'))
  .exitOverride();

function write(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const o = program.opts<{ ctlsock: string; json?: boolean; timeout: string }>();
  const command = program.args[0];
  // One command per connection, as softflowctl sends: a second word would be silently lost.
  if (program.args.length > 1) {
    fail(`a command is one word: "${program.args.join(' ')}" (see flowprobectl --help)`);
  }
  const seconds = Number(o.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) fail(`--timeout takes a positive number of seconds, not "${o.timeout}"`);
  const timeoutMs = Math.round(seconds * 1000);

  if (o.json) {
    if (command !== 'statistics') fail(`--json goes with statistics only, not "${command}"`);
    await printJsonStatistics(o.ctlsock, timeoutMs);
    return;
  }

  const head = await sendCommand(o.ctlsock, command, { timeoutMs, sink: process.stdout });
  await write('');
  if (isRefusal(head)) process.exitCode = 2;
}

/**
 * flowprobe answers `statistics-json` itself; softflowd does not know the word, so its `statistics` text is read
 * back into the same figures.
 */
async function printJsonStatistics(sockPath: string, timeoutMs: number): Promise<void> {
  const reply = await sendCommand(sockPath, 'statistics-json', { timeoutMs });
  let report: unknown;
  if (reply.startsWith('{')) {
    try {
      report = JSON.parse(reply);
    } catch {
      fail(`the daemon's JSON statistics are malformed: ${reply.slice(0, 80)}`, 2);
    }
  } else if (reply === '') {
    fail(`${sockPath} closed the connection without a reply`);
  } else if (reply.startsWith('Unknown control command')) {
    const text = await sendCommand(sockPath, 'statistics', { timeoutMs });
    try {
      report = parseStatistics(text);
    } catch (e) {
      fail(`cannot read the daemon's statistics: ${(e as Error).message}`, 2);
    }
  } else {
    process.stderr.write(reply);
    process.exit(isRefusal(reply) ? 2 : 1);
  }
  await write(JSON.stringify(report, null, 2) + '\n');
}

main().catch((e: Error) => fail(e instanceof ControlClientError ? e.message : `${e.name}: ${e.message}`));
