// The error catalogue: every error authward answers with, its code and HTTP status.
//
// The code names the kind a client sees (`AW_SIGN_IN_FAILED` answers `"error": "sign_in_failed"`); a kind
// may have several entries when its message or status differs (sign-in failed 400 vs refused 403).
// Errors that are answered where they are made, never thrown, skip the stack trace (nobody reads it).
import createError from '@fastify/error';

/** A config problem list; the CLI prints each line and exits 1. Never carries a stack trace to the user. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** createError for an answer made in place (sendError), not thrown: no stack trace to capture. */
const answered = <A extends unknown[] = []>(code: string, message: string, status: number) =>
  createError<A>(code, message, status, Error, false);

export const BadRequestError = createError<[string]>('AW_BAD_REQUEST', '%s', 400);
/** No (valid) session on a request that is not a navigation. */
export const UnauthenticatedError = answered('AW_UNAUTHENTICATED', 'sign-in required', 401);
/** A route needs consent or a claims challenge the session does not have. */
export const InteractionRequiredError = answered(
  'AW_INTERACTION_REQUIRED',
  'sign-in or consent required for this API',
  401,
);
/** API clients (apiClients): a bearer token that does not verify (RFC 6750 invalid_token). */
export const InvalidTokenError = answered('AW_INVALID_TOKEN', 'the bearer token is not accepted', 401);
/** API clients: a valid token without the scope or role this API requires (RFC 6750 insufficient_scope). */
export const InsufficientScopeError = answered(
  'AW_INSUFFICIENT_SCOPE',
  'the bearer token lacks the scope or role this API requires',
  403,
);
/** API clients: the provider asked for more claims on the on-behalf-of call (Conditional Access). */
export const InsufficientClaimsError = answered(
  'AW_INSUFFICIENT_CLAIMS',
  'the identity provider requires more claims (Conditional Access): acquire a new token with the claims in WWW-Authenticate',
  401,
);
/** API clients: a route needs on-behalf-of and this provider offers no grant for it. */
export const OnBehalfOfUnavailableError = answered(
  'AW_ON_BEHALF_OF_UNAVAILABLE',
  'this route cannot be called with a bearer token: the identity provider offers no token exchange (RFC 8693)',
  502,
);
export const ForbiddenError = answered('AW_FORBIDDEN', 'you are signed in but not allowed here', 403);
export const CrossSiteSignOutError = answered('AW_FORBIDDEN', 'cross-site sign-out refused', 403);
/** The forward-auth endpoint was asked by a peer trustProxy does not name (src/forward-auth/verify.ts). */
export const UntrustedPeerError = answered(
  'AW_FORBIDDEN',
  'forward-auth answers only the ingresses trustProxy names',
  403,
);
/** Forward auth: the client sent an identity-family header the ingress may not overwrite. */
export const ClientIdentityHeaderError = answered<[string]>(
  'AW_FORBIDDEN',
  'identity headers are set by authward, not by clients: remove %s',
  403,
);
export const CrossOriginError = createError(
  'AW_CROSS_ORIGIN',
  'cross-origin WebSocket connections are refused',
  403,
);
/** The callback could not complete a sign-in (message says why, in words safe to show). */
export const SignInFailedError = answered<[string]>('AW_SIGN_IN_FAILED', '%s', 400);
/** The provider or the tenant rules refused this user: same kind, 403. */
export const SignInRefusedError = answered<[string]>('AW_SIGN_IN_FAILED', '%s', 403);
export const NotFoundError = answered('AW_NOT_FOUND', 'not found', 404);
/** A browser on another name for publicUrl's server (same port): its cookies would belong to the wrong host. */
export const WrongHostError = answered<[string, string]>(
  'AW_WRONG_HOST',
  'this address (%s) is not the one authward serves: open %s instead (cookies belong to one host)',
  400,
);
export const MethodNotAllowedError = createError<[string]>('AW_METHOD_NOT_ALLOWED', '%s is not allowed', 405);
export const PayloadTooLargeError = createError('AW_PAYLOAD_TOO_LARGE', 'request body too large', 413);
export const TooManyHeadersError = createError('AW_TOO_MANY_HEADERS', 'too many request headers', 431);
/** The client went away before the upstream answered: nobody to answer (499 is nginx's code for it). */
export const ClientGoneError = createError(
  'AW_CLIENT_GONE',
  'the client closed the connection before the upstream answered',
  499,
);
/** The provider refused this application itself (invalid_client, unauthorized_client): no retry will help. */
export const ProviderConfigError = createError(
  'AW_PROVIDER_CONFIG',
  'sign-in is misconfigured: the identity provider refused this application; an administrator must fix it',
  500,
);
export const UpstreamUnavailableError = createError('AW_UPSTREAM_UNAVAILABLE', 'upstream unavailable', 502);
export const TokenStoreUnavailableError = createError(
  'AW_TOKEN_STORE_UNAVAILABLE',
  'token store unavailable, try again shortly',
  503,
);
export const ProviderUnavailableError = createError(
  'AW_PROVIDER_UNAVAILABLE',
  'identity provider unavailable, try again shortly',
  503,
);
/** A request that reached a server being closed (shutdown): another replica, or this one restarted, will answer. */
export const ShuttingDownError = answered('AW_SHUTTING_DOWN', 'shutting down, try again shortly', 503);
export const UpstreamTimeoutError = createError(
  'AW_UPSTREAM_TIMEOUT',
  'upstream did not answer in time',
  504,
);
/** A browser that keeps coming back without its session: the next sign-in is not started (sign-in-loop.ts). */
export const SignInLoopError = answered('AW_SIGN_IN_LOOP', 'sign-in loop stopped', 508);
