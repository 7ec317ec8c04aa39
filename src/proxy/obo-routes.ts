// Token routes for API clients: the route's token acquired on behalf of the caller (tokens/obo.ts).
//
// Rules enforced: a `token: user` route called with a bearer token gets a token on behalf of that
// token's user, never the caller's own token (routes always drop the client's Authorization); an
// app-only caller has no user to act for: 403 insufficient_scope; the provider asking for more claims
// (Conditional Access) or a downstream API's `insufficient_claims` challenge becomes a 401
// `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"`, the shape MSAL clients
// handle, never a 500 and never a sign-in redirect.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BearerRefusal } from '../auth/bearer.js';
import { refuse } from '../auth/bearer-authenticator.js';
import type { ApiPrincipal } from '../auth/principal.js';
import { InsufficientClaimsError } from '../errors.js';
import { sendError } from '../responses.js';
import { InsufficientClaims, type OnBehalfOf } from '../tokens/obo.js';

type Done = (err?: Error) => void;

/** 401 insufficient_claims: `claims` (base64 of the claims request JSON) for the client to satisfy. */
export function passBackClaims(request: FastifyRequest, reply: FastifyReply, claimsBase64: string): void {
  request.log.info(
    { event: 'claims_challenge', client: 'api' },
    'more claims required: passed to the API client',
  );
  reply.header(
    'www-authenticate',
    `Bearer error="insufficient_claims"${claimsBase64 ? `, claims="${claimsBase64}"` : ''}`,
  );
  sendError(request, reply, new InsufficientClaimsError() as FastifyError);
}

/** The pre-handler step for an API client on a `token: user` route (a callback: an L1 hit needs no promise). */
export function oboStep(
  obo: OnBehalfOf,
  scopes: readonly string[],
  key: string,
  resource: string | undefined,
  headersFor: (token: string) => Record<string, string>,
) {
  return (request: FastifyRequest, reply: FastifyReply, p: ApiPrincipal, done: Done): void => {
    if (p.appOnly) {
      refuse(request, reply, new BearerRefusal('insufficient_scope', 'app-only caller on a delegated route'));
      done();
      return;
    }
    const hit = obo.peek(p.tokenHash, key);
    if (hit) {
      request.tokenHeaders = headersFor(hit);
      done();
      return;
    }
    obo.acquire(p.token, p.tokenHash, scopes, key, resource).then(
      (t) => {
        request.tokenHeaders = headersFor(t.accessToken);
        done();
      },
      (err: Error) => {
        if (!(err instanceof InsufficientClaims)) {
          done(err);
          return;
        }
        passBackClaims(request, reply, err.claims ? Buffer.from(err.claims, 'utf8').toString('base64') : '');
        done();
      },
    );
  };
}
