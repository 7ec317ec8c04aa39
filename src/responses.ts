// How authward answers errors: JSON for API callers, a small page for browsers, details only in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PayloadTooLargeError } from './errors.js';
import { errorPage, RETRY_AFTER_SECONDS } from './pages/error-pages.js';
import { OWN_PAGE_HEADERS } from './pages/render.js';

export { OWN_PAGE_HEADERS };

export function wantsHtml(request: FastifyRequest): boolean {
  const mode = request.headers['sec-fetch-mode'];
  if (mode === 'navigate') return true;
  if (mode !== undefined) return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * Answers a catalogue error (src/errors.ts): its status, `error` from its code, its message. `extra` adds
 * JSON fields (a login URL); `hints` are paragraphs on the page (escaped) and a list in JSON.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: FastifyError,
  extra: Record<string, unknown> = {},
  hints: readonly string[] = [],
) {
  return answer(request, reply, err.statusCode ?? 500, wireCode(err.code), err.message, extra, hints, err);
}

/** `AW_SIGN_IN_FAILED` -> `sign_in_failed`: what API callers match on. */
const wireCode = (code: string) => code.slice(3).toLowerCase();

function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown>,
  hints: readonly string[],
  err?: FastifyError,
) {
  reply.code(status).headers(OWN_PAGE_HEADERS);
  // A 503 is an outage of something authward needs (the provider, the token store): say when to retry.
  if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (wantsHtml(request)) {
    const pages = request.server.pages;
    const page = errorPage({ pages, request, status, message, extra, hints }, err);
    return pages.send(reply, page, request.id);
  }
  return reply.send({ error, message, requestId: request.id, ...extra, ...(hints.length ? { hints } : {}) });
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A body cut at its limit surfaces as whatever the forwarding hit (an aborted upstream request): 413.
  const err =
    request.bodyTooLarge && error.code !== 'AW_PAYLOAD_TOO_LARGE' ? new PayloadTooLargeError() : error;
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err, event: 'error' }, err.message);
  } else {
    request.log.info({ event: 'rejected', code: err.code, status }, err.message);
  }
  // Our catalogue's messages are safe to show; anything else at 5xx gets a generic one.
  const ours = typeof err.code === 'string' && err.code.startsWith('AW_');
  const message = ours || status < 500 ? err.message : 'internal error';
  const code = ours ? wireCode(err.code) : status < 500 ? 'bad_request' : 'internal_error';
  return answer(request, reply, status, code, message, {}, [], ours ? err : undefined);
}
