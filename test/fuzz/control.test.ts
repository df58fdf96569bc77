/**
 * The control socket under arbitrary input (fast-check): softflowctl's commands in every spelling, near misses,
 * printable noise, binary bytes, several lines at once, and lines past the bound, each on its own connection to a
 * real Unix socket. Every connection that sent anything gets one reply that ends in a newline and is closed; nothing but a real command
 * reaches the probe; and the server still answers `statistics` afterwards with no client left behind. The hand-made
 * cases (over-long lines, floods of connections, silent clients, mode 0600) are in test/control/server.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { startControlServer } from '../../src/control/server.js';
import { FakeProbe, end, v4 } from '../control/fake-probe.js';
import { ask, eventually } from '../control/sockets.js';
import { suiteParams } from './lib/budget.js';

const COMMANDS = [
  'help', 'statistics', 'statistics-json', 'dump-flows', 'timeouts', 'expire-all', 'delete-all', 'send-template',
  'debug+', 'debug-', 'stop-gather', 'start-gather', 'shutdown', 'exit',
];
/** What FakeProbe records for each handler call the commands make. */
const HANDLER_CALLS = new Set([
  'statistics', 'dumpFlows', 'timeouts', 'expireAll', 'deleteAll', 'sendTemplate', 'debug+', 'debug-', 'stopGather',
  'startGather', 'shutdown', 'exit',
]);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-fuzz-ctl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const payloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  // A command, with case, blanks, CR and suffixes played with.
  fc
    .record({
      cmd: fc.constantFrom(...COMMANDS),
      upper: fc.boolean(),
      pre: fc.constantFrom('', ' ', '\t', '  '),
      post: fc.constantFrom('', ' ', '\r', 'x', ' extra', '\0', '\u00e9'),
      end: fc.constantFrom('\n', '\r\n', '', '\n\n', '\nstatistics\n'),
    })
    .map(({ cmd, upper, pre, post, end: e }) => Buffer.from(pre + (upper ? cmd.toUpperCase() : cmd) + post + e, 'utf8')),
  fc.string({ maxLength: 80 }).map((s) => Buffer.from(`${s}\n`, 'utf8')),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 200, max: 5000 }).map((n) => Buffer.alloc(n, 0x61)),
);

describe('fuzz: the control socket', () => {
  it('answers every connection with one reply and a close; only real commands reach the probe (300 clients)', async () => {
    const probe = new FakeProbe();
    probe.addFlow(17, end(v4(10, 0, 0, 1), 5353, 300, 3), end(v4(10, 0, 0, 2), 53, 900, 3));
    const sockPath = path.join(tmp, 'fuzz.ctl');
    const server = await startControlServer({ path: sockPath, handler: probe, pid: 4242, commandTimeoutMs: 2000 });
    try {
      await fc.assert(
        fc.asyncProperty(payloadArb, async (payload) => {
          const r = await ask(sockPath, payload, { halfClose: true, limitMs: 10_000 });
          if (r.error !== undefined && r.error !== 'ECONNRESET' && r.error !== 'EPIPE') throw new Error(`connection error ${r.error}`);
          // A client that closes without a byte has asked nothing, and is told nothing.
          if (payload.length === 0 && r.reply === '') return;
          if (!r.reply.endsWith('\n')) throw new Error(`reply ${JSON.stringify(r.reply.slice(-200))} does not end a line`);
        }),
        suiteParams(300),
      );
      for (const c of probe.calls) expect([...HANDLER_CALLS], c).toContain(c);
      expect(probe.calls.length).toBeGreaterThan(3);
      expect(await eventually(() => server.clients, (n) => n === 0)).toBe(0);
      expect((await ask(sockPath, 'statistics\n')).reply).toMatch(/^flowprobe\[4242\]: Accumulated statistics/);
      expect(fs.statSync(sockPath).mode & 0o777).toBe(0o600);
    } finally {
      await server.close();
    }
  }, 60_000);
});
