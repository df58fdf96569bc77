/** `flowprobe -r FILE --print-packets`: one line per packet, for people and for tests. */
import { openFile } from '../capture/file.js';
import { formatPacketLine } from '../decode/format.js';
import { PacketView } from '../decode/packet.js';
import { pumpBatch, type PacketConsumer } from './pump.js';

export function printPackets(files: string[], filter: string | undefined, out: NodeJS.WritableStream): number {
  const v = new PacketView();
  let lines: string[] = [];
  let total = 0;
  const consumer: PacketConsumer = {
    onPacket(p) {
      lines.push(formatPacketLine(p));
    },
  };
  for (const file of files) {
    const src = openFile(file, { filter });
    try {
      for (let n = src.next(); n >= 0; n = src.next()) {
        pumpBatch(src, n, v, consumer);
        total += n;
        if (lines.length >= 4096) {
          out.write(lines.join('\n') + '\n');
          lines = [];
        }
      }
    } catch (e) {
      if (lines.length) out.write(lines.join('\n') + '\n');
      throw new Error(`${file}: ${(e as Error).message}`);
    } finally {
      src.close();
    }
  }
  if (lines.length) out.write(lines.join('\n') + '\n');
  return total;
}
