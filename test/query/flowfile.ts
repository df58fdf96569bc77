/**
 * Test side only: a real nfcapd file made by softflowd from bundled pcaps, and its flows read back through
 * nfdump into FlowRecords, so that the same flows can be queried by nfdump and by flowdump's query code.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAddr } from '../../src/decode/address.js';
import { FlowRecord } from '../../src/wire/record.js';
import { readNfdump, startNfcapd, type NfFlow } from '../helpers/nfcapd.js';

const execFileP = promisify(execFile);
export const PCAPS = fileURLToPath(new URL('../../pcaps', import.meta.url));

export interface FlowFile {
  /** The nfcapd file. */
  path: string;
  /** Its flows in file order, as nfdump prints them, converted to FlowRecords. */
  records: FlowRecord[];
  cleanup(): Promise<void>;
}

/**
 * softflowd -v 10 -A milli (absolute times: nfcapd 1.7.1 mis-decodes softflowd's relative IPFIX times) -T vlan
 * (the VLAN id goes into the export) for each pcap in turn, into one nfcapd.
 */
export async function captureFlows(pcaps: string[]): Promise<FlowFile> {
  const nfc = await startNfcapd({ bufferBytes: 4_000_000 });
  try {
    for (const p of pcaps) {
      await execFileP('softflowd', [
        '-r', join(PCAPS, p), '-n', `127.0.0.1:${nfc.port}`, '-v', '10', '-A', 'milli', '-T', 'vlan', '-6',
        '-c', 'none', '-p', join(nfc.dir, 'softflowd.pid'), '-d',
      ]);
    }
    await nfc.stop();
    const files = (await readdir(nfc.dir)).filter((f) => /^nfcapd\.\d+$/.test(f));
    if (files.length !== 1) throw new Error(`expected one nfcapd file in ${nfc.dir}, found ${files.join(', ')}`);
    const path = join(nfc.dir, files[0]);
    const records = (await readNfdump(path)).map(toRecord);
    return { path, records, cleanup: () => nfc.cleanup() };
  } catch (e) {
    await nfc.cleanup();
    throw e;
  }
}

export function toRecord(f: NfFlow): FlowRecord {
  const r = new FlowRecord();
  const src = parseAddr(f.srcAddr);
  const dst = parseAddr(f.dstAddr);
  if (!src || !dst) throw new Error(`nfdump printed an address we cannot parse: ${f.srcAddr} -> ${f.dstAddr}`);
  r.ipVersion = src.version;
  r.src.set(src.words);
  r.dst.set(dst.words);
  r.protocol = f.proto;
  r.srcPort = f.srcPort;
  r.dstPort = f.dstPort;
  r.tcpFlags = f.tcpFlags;
  r.tos = f.tos;
  r.packets = f.packets;
  r.octets = f.bytes;
  r.startSec = Math.floor(f.startMs / 1000);
  r.startNsec = (f.startMs % 1000) * 1e6;
  r.endSec = Math.floor(f.endMs / 1000);
  r.endNsec = (f.endMs % 1000) * 1e6;
  r.inputIf = f.inIf;
  r.outputIf = f.outIf;
  r.vlan = f.srcVlan;
  r.postVlan = f.dstVlan;
  r.direction = f.direction;
  return r;
}
