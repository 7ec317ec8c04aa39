// The error catalogue: every error authward answers with, its code and HTTP status.
import createError from '@fastify/error';

/** A config problem list; the CLI prints each line and exits 1. Never carries a stack trace to the user. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const BadRequestError = createError<[string]>('AW_BAD_REQUEST', '%s', 400);
export const UnauthenticatedError = createError('AW_UNAUTHENTICATED', 'sign-in required', 401);
export const ForbiddenError = createError('AW_FORBIDDEN', 'you are signed in but not allowed here', 403);
export const UpstreamUnavailableError = createError('AW_UPSTREAM_UNAVAILABLE', 'upstream unavailable', 502);
export const UpstreamTimeoutError = createError(
  'AW_UPSTREAM_TIMEOUT',
  'upstream did not answer in time',
  504,
);
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
/** The provider refused this application itself (invalid_client, unauthorized_client): no retry will help. */
export const ProviderConfigError = createError(
  'AW_PROVIDER_CONFIG',
  'sign-in is misconfigured: the identity provider refused this application; an administrator must fix it',
  500,
);
export const NotReadyError = createError('AW_NOT_READY', 'authward is starting, try again shortly', 503);
export const MethodNotAllowedError = createError<[string]>('AW_METHOD_NOT_ALLOWED', '%s is not allowed', 405);
export const PayloadTooLargeError = createError('AW_PAYLOAD_TOO_LARGE', 'request body too large', 413);
export const TooManyHeadersError = createError('AW_TOO_MANY_HEADERS', 'too many request headers', 431);
export const CrossOriginError = createError(
  'AW_CROSS_ORIGIN',
  'cross-origin WebSocket connections are refused',
  403,
);
