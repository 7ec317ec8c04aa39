// session: the encrypted session cookie (name, keys, lifetimes).
import { Type } from '@sinclair/typebox';
import { Key32, Seconds, secret, strict } from './fields.js';

export const Session = strict(
  {
    cookieName: Type.String({
      default: 'authward',
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Session cookie name; prefixed with `__Host-` when publicUrl is https.',
    }),
    cookieDomain: Type.Optional(
      Type.String({
        pattern: '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
        description:
          'Share the session with every host under this domain (forward auth for several hosts; publicUrl’s host must be under it). The cookie then carries `Domain=` and the `__Secure-` prefix instead of `__Host-`: every host under the domain receives it (docs/forward-auth.md says what that trades).',
      }),
    ),
    ...secret(
      'keys',
      Type.Array(Key32, {
        minItems: 1,
        description: 'Session keys: the first encrypts, all decrypt. Generate with `authward keygen`.',
      }),
    ),
    lifetime: Seconds('Absolute session lifetime.', 8 * 3600),
    idleTimeout: Seconds('Idle timeout: a session unused for this long ends.', 3600),
    revocationCheckInterval: Seconds(
      'How long a replica may trust a session record before rechecking it.',
      30,
      300,
    ),
    exposeTokensToBrowser: Type.Boolean({
      default: false,
      description:
        'Include `id_token`, `access_token` (of upstream.tokens) and `expires_on` in `/.auth/me`, as App Service does. Risk: any script on the site (an XSS, a compromised dependency) can then read and send away tokens that work without the cookie; leave off unless the browser code really calls APIs itself.',
    }),
  },
  'The encrypted session cookie.',
);
