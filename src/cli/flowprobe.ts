/** flowprobe: the probe's command line, following softflowd's letters so a softflowd user can swap it in. */
import { CommanderError } from 'commander';
import { buildConfig, type ProbeConfig } from '../probe/config.js';
import { probeProgram, type ProbeOptions } from '../probe/options.js';
import { fail, exitQuietlyOnClosedStdout } from './common.js';

// Each job loads only its own modules (start-up is part of a short job's time: bench/replay.ts).

let log = (line: string): void => {
  process.stderr.write(`flowprobe: ${line}\n`);
};

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
    const { listInterfaces, formatInterfaceList } = await import('../capture/interfaces.js');
    process.stdout.write(formatInterfaceList(listInterfaces()));
    return;
  }
  if (o.printPackets) {
    if (!o.read?.length) fail('--print-packets needs -r FILE');
    if (o.interface) fail('--print-packets reads files (-r), not a live interface');
    const { printPackets } = await import('../probe/print-packets.js');
    printPackets(o.read!, program.args.length ? program.args.join(' ') : undefined, process.stdout);
    return;
  }
  let cfg;
  try {
    cfg = buildConfig(o, program.args);
  } catch (e) {
    fail((e as Error).message);
  }
  if (cfg.files.length) {
    const { runFileJob } = await import('../probe/file-job.js');
    const { fileSummary } = await import('../probe/summary.js');
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
  const { daemonize, isDaemonChild, reportToParent } = await import('./daemon.js');
  const { startLiveJob } = await import('../probe/live-job.js');
  if (!cfg.foreground && !isDaemonChild()) {
    try {
      await daemonize();
    } catch (e) {
      fail((e as Error).message);
    }
    return;
  }
  // A daemon has no terminal: its log goes to syslog (set-up errors still reach the parent, which prints them).
  const toSyslog = isDaemonChild() ? (await import('./syslog.js')).syslogLogger('flowprobe') : null;
  if (toSyslog) log = toSyslog;
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
