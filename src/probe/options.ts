/** flowprobe's options, in softflowd's letters; the command line and the tests build the probe from these. */
import { Command, CommanderError } from 'commander';
import { buildConfig, type ProbeConfig, type RawOptions } from './config.js';
import { collect, oneLineErrors, VERSION } from '../cli/common.js';

export type ProbeOptions = RawOptions & { printPackets?: boolean; listInterfaces?: boolean };

export function probeProgram(): Command {
  return new Command('flowprobe')
  .usage('[options] [bpf filter ...]')
  .description('Turn packets (live or from pcap/pcapng files) into flows and export them as NetFlow v5/v9 or IPFIX.')
  .version(VERSION, '--version', 'print the program version')
  .option('-i, --interface <[idx:]iface>', 'capture live on this interface (a name, or one of its IP addresses)')
  .option('-r, --read <file>', 'read packets from a pcap/pcapng file ("-" is stdin); repeatable', collect)
  .option('-n, --collector <host:port>', 'export to this collector ([v6addr]:port for IPv6); repeatable', collect)
  .option('-v, --export-version <version>', 'NetFlow version: 1, 5, 9 or 10 (IPFIX)', '5')
  .option('-t, --timeout <name=time>', 'set a timeout: tcp, tcp.rst, tcp.fin, udp, icmp, general, maxlife, expint; repeatable', collect)
  .option('-m, --max-flows <n>', 'most flows tracked at once', '8192')
  .option('-T, --track <level>', 'flow key: full, port, proto, ip, vlan or ether', 'full')
  .option('-6, --track-ipv6', 'track IPv6 even with v1/v5 export (the records are not exported)')
  .option('-s, --sampling <n>', 'keep 1 packet in n (systematic sampling)')
  .option('-A, --time-format <unit>', 'v9/IPFIX absolute time fields: sec, milli, micro or nano (default: v9 sysUpTime, IPFIX milli)')
  .option('-b, --bidirectional', 'IPFIX: one record per flow with RFC 5103 reverse counters')
  .option('-x, --mpls-labels <n>', 'v9/IPFIX: export the top n MPLS labels (0-10)')
  .option('-l, --load-balance', 'send each datagram to one collector in turn instead of to all')
  .option('-L, --hoplimit <n>', 'TTL / hop limit for multicast collectors')
  .option('-P, --transport <proto>', 'export transport (udp)')
  .option('-S, --send-interface <ifname>', 'send export datagrams out of this interface, whatever the routes say')
  .option('-C, --snaplen <bytes>', 'live capture length per packet (default: 512)')
  .option('-B, --buffer-size <bytes>', 'live capture kernel buffer size (default: 32 MiB; 0: libpcap\'s)')
  .option('-N, --no-promisc', 'do not put the interface into promiscuous mode')
  .option('-a', 'accepted for softflowd compatibility: flowprobe always takes times from the packets')
  .option('-c, --ctl-sock <path>', 'control socket path, or "none" (default: /var/run/flowprobe.ctl with -i, none with -r)')
  .option('--ctl-mode <mode>', 'permissions of the control socket, in octal (connecting needs write)', '0600')
  .option('-p, --pidfile <path>', 'pid file (default: /var/run/flowprobe.pid in daemon mode, none in the foreground)')
  .option('-d, --foreground', 'stay in the foreground')
  .option('-D, --debug', 'foreground, with debug output of flows as they are added and expired (implies -6)')
  .option('-w, --write-dir <dir>', 'also store flows in rotating files in this directory (as flowcapd does)')
  .option('--rotate <seconds>', 'with -w: start a new file every this many seconds, on aligned boundaries', '300')
  .option('--octets <mode>', 'bytes counted: "ip" (IP total length) or "link" (softflowd: wire length minus link header)', 'ip')
  .option('--format <fmt>', 'without -n: print flows as text, long, csv or json', 'text')
  .option('--export-rate <n>', 'most export datagrams per second (0: unpaced) (default: 20000)')
  .option('--no-progress', 'no progress line on stderr while reading files')
  .option('--print-packets', 'with -r: print one line per decoded packet instead of making flows')
  .option('--list-interfaces', 'list the interfaces that can be captured on, with their addresses')
  .argument('[filter...]', 'BPF filter expression, as tcpdump takes it')
  .configureOutput(oneLineErrors('flowprobe'))
  .exitOverride();
}

/** Parses a flowprobe argument list (without "node flowprobe") into settings; throws on a bad option. */
export function parseProbeArgs(args: string[]): ProbeConfig {
  const program = probeProgram()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined, outputError: () => undefined });
  try {
    program.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new Error(e.message.replace(/^error: /, ''));
    throw e;
  }
  return buildConfig(program.opts<ProbeOptions>(), program.args);
}
