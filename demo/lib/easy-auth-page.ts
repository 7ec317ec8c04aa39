// An App Service ("Easy Auth") sample page, unchanged: it knows only App Service's contract, and works behind authward.
//
// What such apps do: link to /.auth/login/aad with post_login_redirect_uri, read the user from the
// X-MS-CLIENT-PRINCIPAL header on the server, and ask /.auth/me from the browser.
import type { IncomingHttpHeaders } from 'node:http';
import { escapeHtml } from './page.js';

export const EASY_AUTH_PATH = '/easy-auth';

interface Principal {
  auth_typ?: string;
  claims?: { typ: string; val: string }[];
}

function principalOf(headers: IncomingHttpHeaders): Principal | undefined {
  const raw = headers['x-ms-client-principal'];
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Principal;
  } catch {
    return undefined;
  }
}

export function renderEasyAuthPage(headers: IncomingHttpHeaders): string {
  const principal = principalOf(headers);
  const claim = (typ: string) => principal?.claims?.find((c) => c.typ === typ)?.val;
  const who = claim('preferred_username') ?? claim('name');
  const signIn = `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(EASY_AUTH_PATH)}`;
  const body = principal
    ? `<h1>Signed in as <span id="principal-name">${escapeHtml(who ?? '(no name claim)')}</span></h1>
<p>From <code>X-MS-CLIENT-PRINCIPAL</code> (provider <code id="principal-idp">${escapeHtml(String(principal.auth_typ))}</code>), ${principal.claims?.length ?? 0} claims.</p>`
    : '<h1 id="principal-name">Not signed in</h1>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>App Service sample</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/style.css"></head>
<body>
${body}
<p><a id="sign-in" href="${escapeHtml(signIn)}">Sign in with Microsoft</a> (<code>/.auth/login/aad</code>)</p>
<h2>/.auth/me</h2>
<pre id="me" data-state="pending">asking /.auth/me…</pre>
<p><a href="/.auth/logout?post_logout_redirect_uri=${encodeURIComponent(EASY_AUTH_PATH)}">Sign out</a> · <a href="/">the legacy app</a></p>
<script src="${EASY_AUTH_PATH}.js"></script>
</body></html>
`;
}

/** The sample's script, as an App Service app writes it: the user's id and claims from /.auth/me. */
export const EASY_AUTH_JS = `const out = document.getElementById('me');
fetch('/.auth/me', { headers: { accept: 'application/json' } })
  .then(async (res) => {
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const [me] = await res.json();
    out.textContent = 'user_id: ' + me.user_id + '\\nprovider_name: ' + me.provider_name + '\\nclaims: ' +
      me.user_claims.map((c) => c.typ).join(', ');
    out.dataset.state = 'ok';
  })
  .catch((err) => {
    out.textContent = '/.auth/me failed: ' + err.message;
    out.dataset.state = 'error';
  });
`;
