// upstream: the default upstream and the identity headers it gets.
import { Type } from '@sinclair/typebox';
import { BodyLimit, HttpUrl, Seconds, strict } from './fields.js';

const IdentityHeaders = strict(
  {
    msClientPrincipal: Type.Boolean({
      default: true,
      description: 'App Service `X-MS-CLIENT-PRINCIPAL*` headers.',
    }),
    forwarded: Type.Boolean({
      default: true,
      description: 'oauth2-proxy `X-Forwarded-User/-Email/...` headers.',
    }),
    userClaim: Type.Union([Type.Literal('id'), Type.Literal('preferred_username'), Type.Literal('email')], {
      default: 'id',
      description:
        'Claim sent as `X-Forwarded-User`: `id` (`oid` on Entra, else `sub`), `preferred_username`, or `email` (verified only); header left out when the user has none.',
    }),
  },
  'Which identity header families are sent.',
);

export const Upstream = strict(
  {
    url: HttpUrl('The protected application.'),
    timeout: Seconds('Seconds to wait for the upstream’s response headers (then 504).', 30, 3600),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'Extra CA (PEM) for an https upstream.' }),
    ),
    identityHeaders: IdentityHeaders,
    tokens: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Scopes whose access token is sent as `X-MS-TOKEN-AAD-ACCESS-TOKEN` (as App Service does).',
    }),
    tokenHeaders: strict(
      {
        idToken: Type.Boolean({
          default: false,
          description: 'Send the session’s ID token as `X-MS-TOKEN-AAD-ID-TOKEN`.',
        }),
        expiresOn: Type.Boolean({
          default: false,
          description:
            'Send the expiry of the upstream.tokens access token as `X-MS-TOKEN-AAD-EXPIRES-ON` (ISO 8601, as App Service).',
        }),
        refreshToken: Type.Boolean({
          default: false,
          description:
            'Send the account’s refresh token as `X-MS-TOKEN-AAD-REFRESH-TOKEN`. Risk: the upstream can then mint tokens for this user for as long as the grant lives; only for an upstream trusted like authward itself.',
        }),
      },
      'App Service token headers besides `X-MS-TOKEN-AAD-ACCESS-TOKEN` (upstream.tokens), each off by default.',
    ),
    bodyLimit: BodyLimit,
  },
  'The default upstream: every request no route claims.',
);
