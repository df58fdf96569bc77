/** flowprobe: the probe's command line, following softflowd's letters so a softflowd user can swap it in. */
import { Command, Option, CommanderError } from 'commander';
import { listInterfaces, formatInterfaceList } from '../capture/interfaces.js';
import { printPackets } from '../probe/print-packets.js';
import { fail, collect, VERSION } from './common.js';

const program = new Command('flowprobe')
  .usage('[options] [bpf filter ...]')
  .description('Turn packets (live or from pcap/pcapng files) into flows and export them as NetFlow v5/v9 or IPFIX.')
  .version(VERSION, '--version', 'print the program version')
  .option('-i, --interface <[idx:]iface>', 'capture live on this interface (a name, or one of its IP addresses)')
  .option('-r, --read <file>', 'read packets from a pcap/pcapng file ("-" is stdin); repeatable', collect, [])
  .option('--print-packets', 'with -r: print one line per decoded packet instead of making flows')
  .option('--list-interfaces', 'list the interfaces that can be captured on, with their addresses')
  .argument('[filter...]', 'BPF filter expression, as tcpdump takes it')
  .showHelpAfterError('(run flowprobe --help for the options)')
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride();

async function main(): Promise<void> {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const o = program.opts<{
    interface?: string;
    read: string[];
    printPackets?: boolean;
    listInterfaces?: boolean;
  }>();
  const filter = program.args.length ? program.args.join(' ') : undefined;

  if (o.listInterfaces) {
    process.stdout.write(formatInterfaceList(listInterfaces()));
    return;
  }
  if (o.interface && o.read.length) fail('-i and -r cannot be used together: give a live interface or capture files');
  if (o.printPackets) {
    if (!o.read.length) fail('--print-packets needs -r FILE');
    printPackets(o.read, filter, process.stdout);
    return;
  }
  if (!o.interface && !o.read.length) fail('-i or -r option not specified (see flowprobe --help)');
  fail('flow export is not built yet');
}

main().catch((e: Error) => fail(e.message));
