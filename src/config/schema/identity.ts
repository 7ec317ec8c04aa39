// identity: the provider and this application's registration (credentials, scopes, own paths).
import { Type } from '@sinclair/typebox';
import { HttpUrl, Path, Seconds, secret, strict } from './fields.js';

const ClientCertificate = Type.Object(
  {
    certificateFile: Type.String({
      minLength: 1,
      description: 'PEM certificate registered with the provider.',
    }),
    privateKeyFile: Type.String({ minLength: 1, description: 'PEM private key of that certificate.' }),
    ...secret('passphrase', Type.String({ description: 'Passphrase of an encrypted private key.' })),
  },
  { additionalProperties: false, description: 'Client certificate credential (private_key_jwt).' },
);

export const Identity = strict(
  {
    protocol: Type.Union([Type.Literal('aad'), Type.Literal('oidc')], {
      default: 'aad',
      description: '`aad` for the Microsoft identity platform (Entra ID), `oidc` for any OpenID provider.',
    }),
    instance: Type.String({
      format: 'http-url',
      default: 'https://login.microsoftonline.com/',
      description: 'aad: the cloud instance.',
    }),
    tenantId: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'aad: `common`, `organizations`, `consumers` or a tenant GUID.',
      }),
    ),
    authority: Type.Optional(
      HttpUrl(
        'oidc: the issuer URL (must equal the discovery `issuer`). aad: overrides instance + tenantId.',
      ),
    ),
    clientId: Type.String({ minLength: 1, description: 'Application (client) ID.' }),
    ...secret('clientSecret', Type.String({ minLength: 1, description: 'Client secret.' })),
    clientCertificate: Type.Optional(ClientCertificate),
    clientAuthMethod: Type.Union(
      [Type.Literal('auto'), Type.Literal('client_secret_post'), Type.Literal('client_secret_basic')],
      {
        default: 'auto',
        description:
          'How a client secret is sent to the token endpoint. `auto`: `client_secret_post` when discovery’s `token_endpoint_auth_methods_supported` lists it, else `client_secret_basic` (the spec’s default).',
      },
    ),
    clientAssertionFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'File holding a client assertion JWT, read on every use (workload identity federation).',
      }),
    ),
    scopes: Type.Array(Type.String({ minLength: 1 }), {
      default: ['openid', 'profile', 'offline_access'],
      description: 'Scopes asked at sign-in.',
    }),
    routeScopes: Type.Union([Type.Literal('signIn'), Type.Literal('firstUse')], {
      default: 'signIn',
      description: "When routes' scopes are consented: all at sign-in, or incrementally on first use.",
    }),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'Extra CA (PEM) trusted for the provider.' }),
    ),
    allowedTenants: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'aad multi-tenant: `tid` values accepted at sign-in.',
      }),
    ),
    clientCapabilities: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Client capabilities sent to the provider, e.g. [cp1] for Conditional Access claims challenges.',
    }),
    pathPrefix: Path('Prefix of authward’s own endpoints (login, logout, me).', '/.auth'),
    callbackPath: Path('Redirect URI path registered at the provider.', '/.auth/login/aad/callback'),
    timeout: Seconds('Timeout of every call to the provider.', 10, 120),
    clockSkew: Seconds('Clock skew tolerated when checking ID tokens.', 120, 600),
    backchannelLogout: Type.Boolean({
      default: false,
      description:
        'Accept OpenID Connect Back-Channel Logout at `<pathPrefix>/backchannel-logout` (register that URL at the provider): a signed logout token from the provider ends the sessions it names on every replica and deletes their cached tokens.',
    }),
    frontchannelLogout: Type.Boolean({
      default: false,
      description:
        'Accept OpenID Connect Front-Channel Logout at `<pathPrefix>/frontchannel-logout` (Entra: the front-channel logout URL): a GET with the provider’s `iss` and `sid` ends the sessions of that provider session. Only that page may be framed, by the provider’s origin.',
    }),
  },
  'The identity provider and this application’s registration.',
);
