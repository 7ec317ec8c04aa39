// How authward answers errors: JSON for API callers, a small page for browsers, details only in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PayloadTooLargeError } from './errors.js';

export function wantsHtml(request: FastifyRequest): boolean {
  const mode = request.headers['sec-fetch-mode'];
  if (mode === 'navigate') return true;
  if (mode !== undefined) return false;
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** The one HTML escaper: every text authward puts in a page it renders goes through it. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Security headers for every page authward itself renders. */
export const OWN_PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

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
  return answer(request, reply, err.statusCode ?? 500, wireCode(err.code), err.message, extra, hints);
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
) {
  reply.code(status).headers(OWN_PAGE_HEADERS);
  if (wantsHtml(request)) {
    const title = `${status} ${escapeHtml(message)}`;
    const paragraphs = hints.map((h) => `<p>${escapeHtml(h)}</p>`).join('');
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${paragraphs}<p>Request id: ${escapeHtml(request.id)}</p></body></html>\n`,
      );
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
  return answer(request, reply, status, code, message, {}, []);
}
