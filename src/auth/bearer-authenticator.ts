// The bearer authenticator: a request whose Authorization is `Bearer` is an API client, never a browser.
//
// Rules enforced: such a request never reaches the session-cookie authenticator (no cookie, no
// redirect, no login transaction); several Authorization headers or an oversized token are a 400
// (BadRequestError); a token that does not verify is a BearerRefusal, which the caller answers with
// refuse(): 401 `WWW-Authenticate: Bearer error="invalid_token"`, a missing scope or role 403
// `error="insufficient_scope"` (RFC 6750), with the JSON body of every other refusal; before discovery
// has answered, 503. Other schemes (Basic, Negotiate) and no Authorization go to the next
// authenticator. The token is never logged.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { ProviderUnavailableError } from '../errors.js';
import { sendError } from '../responses.js';
import { BearerRefusal, type BearerVerifier, bearerOf, tokenHash } from './bearer.js';
import type { Identify } from './session-authenticator.js';

/** Answers a refusal: the RFC 6750 challenge and the catalogue's JSON body. */
export function refuse(request: FastifyRequest, reply: FastifyReply, r: BearerRefusal): void {
  request.log.info({ event: 'access_denied', client: 'api', reason: r.reason }, 'bearer token refused');
  reply.header('www-authenticate', `Bearer error="${r.error}"`);
  sendError(request, reply, r.answer() as FastifyError);
}

// Hashes of tokens that verified, by token: bounded by bytes (anyone can send any token up to maxTokenBytes).
const HASHES_MAX_BYTES = 4 * 2 ** 20;

/** The bearer authenticator in front of `next` (the session cookie's). */
export function bearerFirst(
  maxTokenBytes: number,
  verifier: () => BearerVerifier | undefined,
  next: Identify,
): Identify {
  // An API client sends the same token on every call: its sha256 (a few µs) once, not per request. Only
  // tokens that verified are kept, so garbage cannot push them out; a hit is exactly what hashing gives.
  const hashes = new LRUCache<string, string>({
    maxSize: HASHES_MAX_BYTES,
    sizeCalculation: (hash, token) => 2 * (token.length + hash.length) + 64,
  });
  return (request, cb) => {
    const token = bearerOf(request, maxTokenBytes);
    if (token === undefined) return next(request, cb);
    if (token instanceof Error) return cb(token, null);
    const v = verifier();
    if (!v) return cb(new ProviderUnavailableError(), null);
    const known = hashes.get(token);
    const hash = known ?? tokenHash(token);
    // A token verified before: no signature check, no promise.
    const hit = v.peek(hash);
    if (hit) {
      if (known === undefined) hashes.set(token, hash);
      return cb(null, hit);
    }
    v.verify(token, hash).then(
      (p) => {
        hashes.set(token, hash);
        cb(null, p);
      },
      (err: Error) => cb(err, null),
    );
  };
}

export { BearerRefusal };
