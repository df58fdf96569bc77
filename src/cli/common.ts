/** Small helpers shared by the command-line entry points. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** From src/cli, or from the build's dist/src/cli. */
function packageVersion(): string {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return (require('../../../package.json') as { version: string }).version;
  }
}
export const VERSION: string = packageVersion();

/** Prints one line naming what was wrong and exits non-zero: the user sees a message, never a stack trace. */
export function fail(message: string, code = 1): never {
  const prog = process.argv[1]?.split('/').pop()?.replace(/\.(m?js|ts)$/, '') ?? 'flowprobe';
  process.stderr.write(`${prog}: ${message}\n`);
  process.exit(code);
}

/**
 * commander's output settings that make a command-line error one line naming the program, as flowprobe's
 * (src/probe/options.ts) is: `flowcapd: unknown option '--bogus' (see flowcapd --help)`.
 */
export function oneLineErrors(prog: string): {
  writeErr: (s: string) => void;
  outputError: (s: string, write: (s: string) => void) => void;
} {
  return {
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(`${prog}: ${s.replace(/^error: /, '').trimEnd()} (see ${prog} --help)\n`),
  };
}

/**
 * commander accumulator for repeatable options. Give such options no default (commander would print
 * "(default: [])" in --help) and read them as `o.x ?? []`.
 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return (previous ?? []).concat([value]);
}

/** A reader that stops early (`| head`) closes the pipe: that ends the output, it is not an error. */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    fail(`cannot write output: ${e.message}`);
  });
}
