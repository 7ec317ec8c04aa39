// The test IdP's provider-initiated sign-out: oidc-provider's Back-Channel Logout feature, and hand-made logout tokens.
//
// Pass `logout.extend` to startIdp({ extend }); then point the secret client's back-channel URI at an
// app (setBackchannelUri) before anyone signs in (oidc-provider puts `sid` in ID tokens only for a
// client that has one). signOutAtProvider() is a real sign-out on the provider's own page: the provider
// POSTs its logout tokens before it answers the confirmation, and `deliveries` records each outcome.
// logoutToken() signs a token with the IdP's own key (or another), claims as a test wants them.
import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { type Browser, parseForms } from './browser.js';
import type { TestIdp } from './idp.js';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface OidcClient {
  backchannelLogoutUri?: string;
}
interface OidcProviderLike {
  Client: { find(id: string): Promise<OidcClient | undefined> };
  on(event: string, listener: (...args: unknown[]) => void): void;
}

export interface Delivery {
  ok: boolean;
  sid: unknown;
  error?: string;
}

export interface IdpLogout {
  /** For startIdp({ extend }). */
  extend: { configure(configuration: Record<string, unknown>): void; provider(provider: unknown): void };
  /** Every back-channel delivery the provider attempted, in order. */
  deliveries: Delivery[];
  /** Where the provider sends the secret client's logout tokens. */
  setBackchannelUri(idp: TestIdp, url: string): Promise<void>;
  /** Signs the browser out on the provider's own page (its end-session endpoint, confirmed). */
  signOutAtProvider(idp: TestIdp, browser: Browser): Promise<void>;
  /** A logout token for the secret client: valid claims unless `claims` overrides (undefined deletes). */
  logoutToken(
    idp: TestIdp,
    claims: Record<string, unknown>,
    opts?: { key?: 'idp' | 'other'; typ?: string },
  ): Promise<string>;
}

export function idpLogout(): IdpLogout {
  let provider: OidcProviderLike | undefined;
  let signingJwk: JWK | undefined;
  const deliveries: Delivery[] = [];
  return {
    deliveries,
    extend: {
      configure(configuration) {
        const features = configuration.features as Record<string, unknown>;
        features.backchannelLogout = { enabled: true };
        const clients = configuration.clients as Record<string, unknown>[];
        for (const c of clients) {
          // A placeholder: oidc-provider needs a URI at start (includeSid()); setBackchannelUri() sets the app's.
          c.backchannel_logout_uri = 'http://127.0.0.1/backchannel-logout';
          c.backchannel_logout_session_required = true;
        }
        // oidc-provider's own fetch refuses loopback addresses (SSRF protection) and gives up at 2.5 s:
        // the test app is on 127.0.0.1 of a busy machine.
        configuration.fetch = (url: string, options: Record<string, unknown>) => {
          const { dispatcher: _ssrf, signal: _short, ...rest } = options;
          return fetch(url, { ...rest, signal: AbortSignal.timeout(60_000) } as RequestInit);
        };
        signingJwk = ((configuration.jwks as { keys: JWK[] }).keys[0] as JWK) ?? undefined;
      },
      provider(p) {
        provider = p as OidcProviderLike;
        provider.on('backchannel.success', (_ctx, _client, _accountId, sid) => {
          deliveries.push({ ok: true, sid });
        });
        provider.on('backchannel.error', (_ctx, err, _client, _accountId, sid) => {
          deliveries.push({ ok: false, sid, error: (err as Error).message });
        });
      },
    },
    async setBackchannelUri(idp, url) {
      const client = await provider?.Client.find(idp.clients.secret.clientId);
      if (!client) throw new Error('idpLogout: pass logout.extend to startIdp');
      client.backchannelLogoutUri = url;
    },
    async signOutAtProvider(idp, browser) {
      const end = idp.discovery.end_session_endpoint;
      if (!end) throw new Error('idpLogout: the IdP has no end_session_endpoint');
      const page = await browser.navigate(end);
      const [form] = parseForms(page.body, page.url);
      if (!form) throw new Error(`idpLogout: no logout form on ${page.url} (${page.status})`);
      await browser.submitForm(form, page.url, { logout: 'yes' });
    },
    async logoutToken(idp, claims, opts = {}) {
      if (!signingJwk) throw new Error('idpLogout: pass logout.extend to startIdp');
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: idp.issuer,
        aud: idp.clients.secret.clientId,
        iat: now,
        exp: now + 120,
        jti: randomUUID(),
        events: { [LOGOUT_EVENT]: {} },
        ...claims,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      const key =
        opts.key === 'other'
          ? (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
          : await importJWK(signingJwk, 'RS256');
      return new SignJWT(payload as JWTPayload)
        .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid as string, typ: opts.typ ?? 'logout+jwt' })
        .sign(key);
    },
  };
}
