// Provider-initiated sign-out, the part both channels share: end every session the provider names.
//
// The sessions come from the index (session/logout-index.ts). Each one ends as a sign-out here does:
// its record deleted (this replica refuses it at once and closes its WebSockets, every other replica
// within session.revocationCheckInterval, since they re-read the record that often) and its account's
// token cache partition deleted. A store that fails makes the whole call reject, so the caller can
// answer 503 and the provider retry.
import type { Config } from '../config/schema.js';
import type { ProviderRef, SessionIndex } from '../session/logout-index.js';
import type { SessionRecords } from '../session/records.js';
import type { Discovery } from '../tokens/discovery.js';
import type { TokenService } from '../tokens/token-service.js';

export type EndProviderSessions = (ref: ProviderRef) => Promise<string[]>;

/** Ends what `ref` names; resolves with authward's ids of the sessions ended (for the caller's checks). */
export function providerSessionEnder(
  records: SessionRecords,
  index: SessionIndex,
  tokens: TokenService,
): EndProviderSessions {
  return async (ref) => {
    const sessions = await index.find(ref);
    const accounts = new Set(sessions.map((s) => s.account));
    await Promise.all([
      ...sessions.map((s) => records.delete(s.session)),
      ...[...accounts].map((a) => tokens.removeAccount(a)),
    ]);
    const ended = sessions.map((s) => s.session);
    await index.forget(ref, ended);
    return ended;
  };
}

/** Whether `iss` is the provider's issuer (Entra multi-tenant: any tenant's, the template's {tenantid}). */
export function issuerMatcher(issuer: string): (iss: string) => boolean {
  if (!issuer.includes('{tenantid}')) return (iss) => iss === issuer;
  const [before = '', after = ''] = issuer.split('{tenantid}');
  return (iss) =>
    iss.startsWith(before) &&
    iss.endsWith(after) &&
    /^[0-9a-f-]{36}$/i.test(iss.slice(before.length, iss.length - after.length));
}

/**
 * Start-up warnings once discovery has answered: a logout channel switched on that the provider does not
 * announce (it may still call it; many providers leave the flags out, so not an error).
 */
export function logoutSupportWarnings(identity: Config['identity'], doc: Discovery): string[] {
  const out: string[] = [];
  if (identity.backchannelLogout && doc.backchannel_logout_supported !== true)
    out.push(
      'identity.backchannelLogout is on, but the provider does not announce backchannel_logout_supported: sign-outs at the provider may not reach authward',
    );
  if (identity.frontchannelLogout && doc.frontchannel_logout_supported !== true)
    out.push(
      'identity.frontchannelLogout is on, but the provider does not announce frontchannel_logout_supported: sign-outs at the provider may not reach authward',
    );
  return out;
}
