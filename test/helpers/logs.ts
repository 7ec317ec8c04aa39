// Reading what the app logged: a pino logger with authward's options whose lines land in an array.
import { Writable } from 'node:stream';
import pino from 'pino';
import { loggerOptions } from '../../src/logger.js';

/** loggerOptions' arguments after (level, pretty), e.g. a log style. */
type StyleArgs = Parameters<typeof loggerOptions> extends [unknown, unknown, ...infer R] ? R : [];

export type LogLine = Record<string, unknown>;

/** A logger with authward's options writing parsed JSON lines into `lines`. */
export function captureLogger(level = 'info', ...style: StyleArgs) {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino(loggerOptions(level, false, ...style), sink), lines };
}
