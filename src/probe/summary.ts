/** The one-screen summary a pcap job prints when it is done. */
import type { ProbeConfig } from './config.js';
import type { FileJobResult } from './file-job.js';

/** How the probe's messages name the export: IPFIX for version 10, as RFC 7011 names it. */
export function exportName(version: number): string {
  return version === 10 ? 'IPFIX' : `NetFlow v${version}`;
}

export function fileSummary(cfg: ProbeConfig, r: FileJobResult): string {
  const st = r.probe.table.stats;
  const exporter = r.probe.exporter;
  const transport = r.probe.transport;
  const lines = [
    `Packets read: ${r.packets}`,
    `Packets processed: ${st.packetsProcessed}` + (st.nonSampled ? ` (${st.nonSampled} non-sampled)` : ''),
    `Fragments: ${st.fragments}`,
    `Ignored packets: ${st.ignored} (${st.nonIp} non-IP, ${st.tooShort} too short)`,
    `Flows expired: ${st.flowsExpired} (${st.flowsForced} forced)`,
  ];
  if (exporter && transport) {
    const e = exporter.stats;
    lines.push(
      `Flows exported: ${e.records} records in ${e.datagrams} datagrams to ${transport.collectors.join(', ')} ` +
        `(${exportName(cfg.version)}, ${transport.stats.failures} failures)`,
    );
    if (e.skippedNotIpv4) lines.push(`IPv6 records not exported (NetFlow v${cfg.version} carries IPv4 only): ${e.skippedNotIpv4}`);
  } else if (r.probe.printer) {
    lines.push(`Flow records printed: ${r.probe.printer.count}`);
  }
  const w = r.probe.writer;
  if (w) {
    lines.push(`Flows written: ${w.stats.records} records in ${w.stats.files} files in ${w.dir}` + (w.stats.dropped ? ` (${w.stats.dropped} dropped)` : ''));
  }
  return lines.join('\n') + '\n';
}
