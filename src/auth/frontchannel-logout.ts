// GET <pathPrefix>/frontchannel-logout?iss=&sid=: OpenID Connect Front-Channel Logout 1.0, an iframe on the provider's page.
//
// Rules: `iss` must be the provider's issuer and `sid` a provider session this deployment indexed at
// sign-in; then every session signed in under that provider session ends (provider-logout.ts), and
// this browser's cookie too when it belongs to one of them. Anything else changes nothing. The answer
// is the same small page either way (no oracle for which sids exist), never cached, and this one
// endpoint may be framed, by the provider's origin only (CSP frame-ancestors; no X-Frame-Options).
// Why no cookie is required: the session cookie is SameSite=Lax, so a browser does not send it into a
// cross-site iframe; the provider's `sid` (random, known only to the provider and the relying party,
// never shown to the page by authward) is the evidence, and all it can do is sign that session out.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProviderUnavailableError } from '../errors.js';
import { OWN_PAGE_HEADERS } from '../responses.js';
import { signedIn } from '../session/cookie.js';
import type { Provider } from '../tokens/provider.js';
import { type EndProviderSessions, issuerMatcher } from './provider-logout.js';

export interface FrontchannelDeps {
  provider: Provider;
  end: EndProviderSessions;
}

const PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body></body></html>\n';

/** The route's handler, and its onSend hook (after the guard's, which sets the own-page headers on every own answer). */
export function frontchannelLogoutRoute(d: FrontchannelDeps) {
  let checks: { isIssuer: (iss: string) => boolean; headers: Record<string, string> } | undefined;
  const setup = () => {
    if (checks) return checks;
    const doc = d.provider.discovery;
    if (!doc) throw new ProviderUnavailableError();
    // The provider's logout page frames us: its origin is the end-session endpoint's (else the issuer's).
    const framer = new URL(doc.end_session_endpoint ?? doc.issuer).origin;
    const { 'x-frame-options': _deny, ...rest } = OWN_PAGE_HEADERS;
    checks = {
      isIssuer: issuerMatcher(doc.issuer),
      headers: { ...rest, 'content-security-policy': `default-src 'none'; frame-ancestors ${framer}` },
    };
    return checks;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const { isIssuer } = setup();
    const { iss, sid } = request.query as Record<string, unknown>;
    let ended: string[] = [];
    if (typeof iss === 'string' && typeof sid === 'string' && sid && isIssuer(iss)) {
      ended = await d.end({ iss, sid });
      const own = signedIn(request.session);
      if (own && ended.includes(own.sid)) request.session.delete();
    }
    request.log.info(
      { event: 'provider_logout', channel: 'front', sessions: ended.length },
      ended.length ? 'signed out by the provider (front-channel)' : 'front-channel logout named no session',
    );
    return reply.code(200).type('text/html; charset=utf-8').send(PAGE);
  };

  const onSend = (
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: null, payload: unknown) => void,
  ) => {
    // Errors (503 before discovery) keep the own-page headers: only the page itself may be framed.
    if (checks && reply.statusCode === 200) {
      reply.removeHeader('x-frame-options');
      reply.headers(checks.headers);
    }
    done(null, payload);
  };
  return { handler, onSend };
}
