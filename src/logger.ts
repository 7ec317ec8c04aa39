// pino options: JSON lines, secrets redacted, URLs with codes and tokens masked.
import type { FastifyRequest } from 'fastify';
import pino, { type Logger, type LoggerOptions } from 'pino';

// Query parameters whose values never reach a log line.
const SECRET_PARAMS =
  /([?&](?:code|state|id_token|access_token|refresh_token|session_state|client_info|token|nonce|code_verifier|client_secret|client_assertion)=)[^&#]*/gi;

/** The request URL with secret query values replaced by "[redacted]". */
export function redactUrl(url: string): string {
  return url.includes('=') ? url.replace(SECRET_PARAMS, '$1[redacted]') : url;
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.id_token',
  '*.access_token',
  '*.refresh_token',
  // An authorization code wherever a query or body is logged; not `*.code`, which would mask every error's
  // code (ECONNREFUSED, AW_...), the one thing an operator needs from a failure line.
  'query.code',
  '*.query.code',
  'body.code',
  '*.body.code',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.keys',
  '*.encryptionKeys',
  '*.cookie',
];

/** How lines look: pino's numbers and epoch milliseconds by default, names and ISO times for Loki/ELK. */
export interface LogStyle {
  levelNames: boolean;
  timestamp: 'epoch' | 'iso';
}

const REPLY_FROM_ERRORED = 'response errored';
const PINO_STYLE: LogStyle = { levelNames: false, timestamp: 'epoch' };

export function loggerOptions(level: string, pretty: boolean, style: LogStyle = PINO_STYLE): LoggerOptions {
  // Stacks only when asked for: at info, a failure is one line with its message and code.
  const stacks = level === 'debug' || level === 'trace';
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url) }),
      err: (err: Error) => serializeError(err, stacks),
      // A `url` field anywhere at the top (e.g. @fastify/http-proxy's "proxy websocket" debug line).
      url: (url: unknown) => (typeof url === 'string' ? redactUrl(url) : url),
    },
    hooks: {
      // reply-from's own warning for a failed upstream request repeats the upstream_error line (forward.ts)
      // with a stack: kept only at debug.
      logMethod(args, method, levelValue) {
        if (levelValue === 40 && !stacks && args[1] === REPLY_FROM_ERRORED) return;
        method.apply(this, args);
      },
    },
    ...(style.timestamp === 'iso' ? { timestamp: pino.stdTimeFunctions.isoTime } : {}),
    // (pino-pretty reads the numbers: names only for JSON lines.)
    ...(style.levelNames && !pretty ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
}

/**
 * pino's error serializer without `rawPacket` (Node's parser errors, logged by fastify as "client error",
 * carry the raw request bytes, Cookie and Authorization included), with the cause's code beside the
 * error's own, and the stack only at debug.
 */
function serializeError(err: Error, stacks: boolean): pino.SerializedError {
  const out = pino.stdSerializers.err(err);
  if (out === null || typeof out !== 'object') return out;
  if ('rawPacket' in out) delete out.rawPacket;
  if (!stacks) delete (out as { stack?: string }).stack;
  const cause = (err as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') out.causeCode = cause.code;
  return out;
}

export function createLogger(level: string, pretty: boolean, style?: LogStyle): Logger {
  const options = loggerOptions(level, pretty, style);
  const value = pino.levels.values[level];
  if (pretty || value === undefined || value > INFO) return pino(options);
  // With access lines on (info and below) a line per request: stdout written in batches of about 4 KB,
  // at least every LINES_FLUSH_MS, not one write (a thread-pool round trip and its wake-ups) per line.
  // Each write stays whole lines within PIPE_BUF (listen.workers share the pipe); pino flushes at exit.
  return pino(
    options,
    pino.destination({ dest: 1, minLength: 4000, maxWrite: 4096, periodicFlush: LINES_FLUSH_MS }),
  );
}

/** At most this long between a line and its write to stdout when lines are batched (info and below). */
const LINES_FLUSH_MS = 100;
const INFO = 30; // pino's number for info

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type Level = (typeof LEVELS)[number];
type LogFn = (...args: unknown[]) => void;

/**
 * A request's logger, made only when the request logs something. pino's child() copies the redaction
 * set-up and serializes the bindings on every call: a few µs per request that most requests (whose one
 * line is the access line, written on the root logger) never use.
 */
class LazyChild {
  private real: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly makeChild: ChildFn,
    private readonly own: pino.Bindings,
    private readonly options: pino.ChildLoggerOptions,
  ) {}
  private get logger(): Logger {
    this.real ??= this.makeChild(this.own, this.options);
    return this.real;
  }
  get level(): string {
    return this.real?.level ?? this.options.level ?? this.parent.level;
  }
  set level(level: string) {
    this.logger.level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.logger.child(bindings, options);
  }
  bindings(): pino.Bindings {
    return this.logger.bindings();
  }
  silent(): void {}
  declare trace: LogFn;
  declare debug: LogFn;
  declare info: LogFn;
  declare warn: LogFn;
  declare error: LogFn;
  declare fatal: LogFn;
}
for (const level of LEVELS) {
  Object.defineProperty(LazyChild.prototype, level, {
    value(this: LazyChild, ...args: unknown[]) {
      if (this.isLevelEnabled(level)) {
        (this as unknown as { logger: Record<Level, LogFn> }).logger[level](...args);
      }
    },
  });
}

type ChildFn = (bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;

/**
 * Makes fastify's logger hand out lazy children (LazyChild) for requests: fastify's default child
 * logger factory calls `child()` once per request. (A custom childLoggerFactory would do the same, but
 * fastify then checks the logger it returns on every request: seven method lookups and an array.) A
 * child with a level of its own (a plugin's logLevel) is made at once, as pino makes it.
 */
export function lazyRequestLoggers(logger: Logger): void {
  const child: ChildFn = logger.child.bind(logger);
  logger.child = ((bindings: pino.Bindings, options: pino.ChildLoggerOptions = {}) =>
    options.level !== undefined
      ? child(bindings, options)
      : new LazyChild(logger, child, bindings, options)) as unknown as Logger['child'];
}
