/** flowprobe: the probe's command line, following softflowd's letters so a softflowd user can swap it in. */
import { CommanderError } from 'commander';
import { listInterfaces, formatInterfaceList } from '../capture/interfaces.js';
import { printPackets } from '../probe/print-packets.js';
import { buildConfig, type ProbeConfig } from '../probe/config.js';
import { startLiveJob } from '../probe/live-job.js';
import { daemonize, isDaemonChild, reportToParent } from './daemon.js';
import { probeProgram, type ProbeOptions } from '../probe/options.js';
import { runFileJob } from '../probe/file-job.js';
import { fileSummary } from '../probe/summary.js';
import { fail, exitQuietlyOnClosedStdout } from './common.js';

function log(line: string): void {
  process.stderr.write(`flowprobe: ${line}\n`);
}

async function main(): Promise<void> {
  exitQuietlyOnClosedStdout();
  const program = probeProgram();
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const o = program.opts<ProbeOptions>();

  if (o.listInterfaces) {
    process.stdout.write(formatInterfaceList(listInterfaces()));
    return;
  }
  if (o.printPackets) {
    if (!o.read.length) fail('--print-packets needs -r FILE');
    if (o.interface) fail('--print-packets reads files (-r), not a live interface');
    printPackets(o.read, program.args.length ? program.args.join(' ') : undefined, process.stdout);
    return;
  }
  let cfg;
  try {
    cfg = buildConfig(o, program.args);
  } catch (e) {
    fail((e as Error).message);
  }
  if (cfg.files.length) {
    const r = await runFileJob(cfg, log);
    // As softflowd -r, the summary goes to stdout after an export; printed flows own stdout, so then it goes to
    // a terminal's stderr only. An error stays one line on stderr.
    if (r.packets > 0 || !r.error) {
      if (cfg.collectors.length || cfg.writeDir) process.stdout.write(fileSummary(cfg, r));
      else if (process.stderr.isTTY) process.stderr.write(fileSummary(cfg, r));
    }
    if (r.error) fail(r.error);
    return;
  }
  await runLive(cfg);
}

async function runLive(cfg: ProbeConfig): Promise<void> {
  if (!cfg.foreground && !isDaemonChild()) {
    try {
      await daemonize();
    } catch (e) {
      fail((e as Error).message);
    }
    return;
  }
  let job;
  try {
    job = await startLiveJob(cfg, log);
  } catch (e) {
    reportToParent({ error: (e as Error).message });
    fail((e as Error).message);
  }
  reportToParent({ ready: true });
  process.exit(await job.done);
}

main().catch((e: Error) => fail(e.message));
