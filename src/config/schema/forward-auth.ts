// forwardAuth: authward as the authentication service of an ingress (nginx auth_request, Caddy
// forward_auth, Traefik forwardAuth, Envoy ext_authz): off unless enabled.
import { Type } from '@sinclair/typebox';
import { strict } from './fields.js';

export const ForwardAuth = strict(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Serve `<pathPrefix>/verify` for an ingress to ask whether a request may pass (docs/forward-auth.md). Needs `trustProxy` to list the ingress addresses: the endpoint refuses every other peer.',
    }),
    allowedHosts: Type.Array(
      Type.String({
        pattern:
          '^(\\*\\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[1-9][0-9]{0,4})?$',
        description:
          'A host name (lower case, ASCII: punycode for IDN), or `*.` and a domain for its subdomains; `:port` when not the scheme’s default.',
      }),
      {
        default: [],
        uniqueItems: true,
        description:
          'Hosts besides publicUrl’s that a sign-in may return to (exact `app.example.com`, or `*.example.com` for any subdomain, not the domain itself); https only when publicUrl is https. Everything else returns to `/`.',
      },
    ),
  },
  'Forward authentication for an ingress that carries the traffic itself.',
);
