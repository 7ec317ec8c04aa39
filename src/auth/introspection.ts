// RFC 7662 token introspection: asks the provider about an opaque bearer token (one that is not a JWT).
//
// Authenticated with the app's own client id and secret (client_secret_basic, RFC 7662 §2.1's example;
// client_secret_post when the provider's token endpoint takes only that). The answer is trusted as the
// provider's word, so only `active: true` with the claims a JWT would carry is let through; the caller
// (BearerVerifier) then checks iss, aud, exp and scope or role as for a JWT.
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ProviderUnavailableError } from '../errors.js';
import type { Discovery } from '../tokens/discovery.js';
import type { ProviderHttp } from '../tokens/network.js';
import type { Provider } from '../tokens/provider.js';
import { BearerRefusal } from './bearer.js';

export class Introspector {
  private readonly headers: Record<string, string>;
  private readonly secretInBody: boolean;

  constructor(
    private readonly endpoint: string,
    private readonly id: Config['identity'],
    private readonly http: ProviderHttp,
    authMethod: 'client_secret_post' | 'client_secret_basic' | undefined,
  ) {
    this.secretInBody = authMethod === 'client_secret_post';
    const enc = encodeURIComponent;
    this.headers = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...(this.secretInBody
        ? {}
        : {
            authorization: `Basic ${Buffer.from(`${enc(id.clientId)}:${enc(id.clientSecret ?? '')}`).toString('base64')}`,
          }),
    };
  }

  /** The active token's claims (sub defaults to client_id: no user), or a BearerRefusal thrown. */
  async introspect(token: string): Promise<JWTPayload> {
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    if (this.secretInBody) {
      form.set('client_id', this.id.clientId);
      form.set('client_secret', this.id.clientSecret ?? '');
    }
    let body: Record<string, unknown>;
    try {
      const res = await this.http.fetch(this.endpoint, {
        method: 'POST',
        headers: this.headers,
        body: form.toString(),
      });
      if (res.status >= 500) throw new ProviderUnavailableError({ cause: new Error(`status ${res.status}`) });
      if (!res.ok) throw new BearerRefusal('invalid_token', `introspection failed: status ${res.status}`);
      body = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof BearerRefusal || err instanceof ProviderUnavailableError) throw err;
      // Unreachable or no JSON: nobody vouched for the token (fail closed), and the provider is the
      // one down: 503, not a 401 that tells the client to drop a valid token.
      throw new ProviderUnavailableError({ cause: err });
    }
    if (body.active !== true) throw new BearerRefusal('invalid_token', 'introspection: token not active');
    if (typeof body.exp !== 'number') throw new BearerRefusal('invalid_token', 'introspection: no exp');
    const sub = typeof body.sub === 'string' ? body.sub : body.client_id;
    return { ...body, sub } as JWTPayload;
  }
}

/** apiClients.introspection's introspector (undefined when off, or, logged, when nothing says where). */
export function introspectorFor(
  config: Config,
  doc: Discovery,
  provider: Pick<Provider, 'http' | 'clientAuthMethod'>,
  logger: Logger,
): Introspector | undefined {
  const o = config.apiClients.introspection;
  if (!o.enabled) return undefined;
  const endpoint =
    o.endpoint ?? (typeof doc.introspection_endpoint === 'string' ? doc.introspection_endpoint : undefined);
  if (!endpoint) {
    logger.error(
      { event: 'config' },
      "apiClients.introspection.endpoint: the provider's discovery lists no introspection_endpoint; opaque tokens are refused",
    );
    return undefined;
  }
  return new Introspector(endpoint, config.identity, provider.http, provider.clientAuthMethod);
}
