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
    bodyLimit: BodyLimit,
  },
  'The default upstream: every request no route claims.',
);
