// MSAL errors translated at one boundary into what the proxy acts on (the original kept as `cause`).
import { AuthError, InteractionRequiredAuthError } from '@azure/msal-node';
import { ProviderConfigError, ProviderUnavailableError } from '../errors.js';

/** The user must sign in again (or consent): the account's cached tokens are dead or missing. */
export class InteractionRequired extends Error {
  constructor(
    readonly reason: string,
    /** Set when the fix is consent to more scopes rather than a fresh sign-in. */
    readonly consent = false,
    options?: ErrorOptions,
  ) {
    super(`interaction required: ${reason}`, options);
    this.name = 'InteractionRequired';
  }
}

// The provider refused the client itself (credentials, auth method, grant not allowed): configuration.
const CLIENT_REFUSED_CODES = new Set(['invalid_client', 'unauthorized_client']);
const CONSENT_CODES = new Set(['invalid_scope', 'consent_required', 'invalid_target']);
const DEAD_GRANT_CODES = new Set(['invalid_grant', 'interaction_required', 'login_required', 'bad_token']);
// MSAL's own checks of a code response: a forged or replayed callback, not an outage.
const FORGED_RESPONSE_CODES = new Set([
  'nonce_mismatch',
  'state_mismatch',
  'state_not_found',
  'invalid_state',
]);

/**
 * MSAL failure → InteractionRequired (sign in / consent), ProviderConfigError (the client refused:
 * 500, no retry promised) or ProviderUnavailable (503, session kept).
 */
export function translateMsalError(err: unknown): Error {
  if (err instanceof InteractionRequired) return err;
  const e = err as AuthError;
  const code = String(e?.errorCode ?? '');
  const sub = String((e as { subError?: string })?.subError ?? '');
  if (CLIENT_REFUSED_CODES.has(code)) return new ProviderConfigError({ cause: err });
  if (CONSENT_CODES.has(code) || CONSENT_CODES.has(sub))
    return new InteractionRequired(code, true, { cause: err });
  if (FORGED_RESPONSE_CODES.has(code)) return new InteractionRequired(code, false, { cause: err });
  if (err instanceof InteractionRequiredAuthError || DEAD_GRANT_CODES.has(code)) {
    return new InteractionRequired(code || 'interaction_required', false, { cause: err });
  }
  if (code === 'no_tokens_found' || code === 'no_account_in_silent_request' || code === 'no_account_found') {
    return new InteractionRequired(code, false, { cause: err });
  }
  if (
    err instanceof AuthError ||
    (err as Error)?.name === 'TimeoutError' ||
    (err as Error)?.name === 'TypeError'
  ) {
    return new ProviderUnavailableError({ cause: err });
  }
  return err as Error;
}
