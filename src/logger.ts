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
  '*.code',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.keys',
  '*.encryptionKeys',
  '*.cookie',
];

export function loggerOptions(level: string, pretty: boolean): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url) }),
      err: pino.stdSerializers.err,
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
}

export function createLogger(level: string, pretty: boolean): Logger {
  return pino(loggerOptions(level, pretty));
}
