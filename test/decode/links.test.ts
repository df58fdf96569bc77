/**
 * Every link type we decode can be reached from a capture file: libpcap hands back a DLT_ value, not the file's
 * LINKTYPE_ value, and where the two differ (raw IP 101 -> 12, ATM 100 -> 11) the registry must know the DLT too,
 * or the whole capture is "unknown link type". A file of each LINKTYPE, read through the addon, must come back as
 * a link type the decoder takes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFile } from '../../src/capture/file.js';
import { isLinkTypeSupported } from '../../src/decode/index.js';
import { pcapBytes } from '../helpers/pcapwrite.js';

/** The LINKTYPE_ values (tcpdump.org/linktypes.html) of the decoders in src/decode/links.ts. */
const LINKTYPES = [0, 1, 9, 50, 51, 100, 101, 104, 105, 108, 113, 117, 119, 127, 163, 192, 228, 229, 239, 258, 276];

describe('link types as libpcap reports them', () => {
  it('every LINKTYPE we decode comes back from a capture file as a link type the decoder takes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-links-'));
    try {
      const refused: string[] = [];
      for (const lt of LINKTYPES) {
        const file = path.join(dir, `${lt}.pcap`);
        fs.writeFileSync(file, pcapBytes(lt, []));
        const src = openFile(file);
        try {
          if (!isLinkTypeSupported(src.linkType)) refused.push(`LINKTYPE ${lt} (libpcap: ${src.linkType})`);
        } finally {
          src.close();
        }
      }
      expect(refused).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
