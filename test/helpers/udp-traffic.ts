/**
 * Loopback UDP traffic for live-probe tests: a sink that takes datagrams (so sends to it draw no ICMP), and flows
 * made of datagrams from a fresh source port each, so every flow can be told apart at the collector.
 */
import dgram from 'node:dgram';

/** UDP payload of every test datagram: 128 bytes of IPv4 each (20 + 8 + 100). */
export const PAYLOAD = 100;
export const IP_BYTES = 20 + 8 + PAYLOAD;

const sinks: dgram.Socket[] = [];

/** A UDP socket on 127.0.0.1 that reads everything (handing it to `onMessage`); returns its port. */
export async function sinkPort(onMessage: (m: Buffer) => void = () => {}): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', onMessage);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setRecvBufferSize(1 << 20);
  sinks.push(s);
  return s.address().port;
}

/** For afterAll: closes every sink. */
export function closeSinks(): void {
  for (const s of sinks.splice(0)) s.close();
}

/**
 * Sends `count` datagrams to to:port from a fresh source port on `from`, and returns that port: one new flow.
 * Both addresses are this machine's: loopback, or the ends of a veth pair a test made.
 */
export async function sendFlow(port: number, count: number, to = '127.0.0.1', from = '127.0.0.1'): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  const src = s.address().port;
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => s.send(Buffer.alloc(PAYLOAD, i), port, to, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise<void>((r) => s.close(() => r()));
  return src;
}
