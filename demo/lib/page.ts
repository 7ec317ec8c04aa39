// The legacy app's one page: who authward says the user is (every identity header, HTML-escaped) and an API call through authward.
import type { IncomingHttpHeaders } from 'node:http';

/** Identity headers authward sets: App Service family, then oauth2-proxy family. */
export const IDENTITY_HEADERS = [
  'x-ms-client-principal-name',
  'x-ms-client-principal-id',
  'x-ms-client-principal-idp',
  'x-ms-client-principal',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-groups',
];
/** Request context authward vouches for. */
const CONTEXT_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id'];

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

function rows(headers: IncomingHttpHeaders, names: string[]): string {
  return names
    .map((name) => {
      const value = header(headers, name);
      const cell = value === undefined ? '<i>(not sent)</i>' : `<code>${escapeHtml(value)}</code>`;
      return `<tr><th>${escapeHtml(name)}</th><td>${cell}</td></tr>`;
    })
    .join('\n');
}

/** X-MS-CLIENT-PRINCIPAL is base64 JSON `{ claims: [{ typ, val }] }`, as App Service sends it. */
function principalClaims(headers: IncomingHttpHeaders): string {
  const raw = header(headers, 'x-ms-client-principal');
  if (!raw) return '';
  let claims: { typ: string; val: string }[] = [];
  try {
    claims =
      (JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { claims?: typeof claims }).claims ?? [];
  } catch {
    return '<p>X-MS-CLIENT-PRINCIPAL is not valid base64 JSON.</p>';
  }
  const body = claims
    .map(
      (c) =>
        `<tr><th>${escapeHtml(String(c.typ))}</th><td><code>${escapeHtml(String(c.val))}</code></td></tr>`,
    )
    .join('\n');
  return `<h2>Claims in X-MS-CLIENT-PRINCIPAL (decoded)</h2><table>${body}</table>`;
}

export function renderPage(headers: IncomingHttpHeaders): string {
  const name = header(headers, 'x-ms-client-principal-name') ?? header(headers, 'x-forwarded-user');
  const greeting = name ? `Hello, <span id="user">${escapeHtml(name)}</span>` : 'Nobody signed in?';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Legacy app behind authward</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/style.css"></head>
<body>
<h1>${greeting}</h1>
<p>This sample app has no sign-in code at all. authward signed you in and tells it who you are with
these request headers (the app trusts them because only authward can reach it):</p>
<table id="identity">${rows(headers, IDENTITY_HEADERS)}</table>
${principalClaims(headers)}
<h2>Request context from authward</h2>
<table>${rows(headers, CONTEXT_HEADERS)}</table>
<h2>An API call through authward</h2>
<p>This page calls <code>/api/hello</code>. authward sends it to the sample API with a bearer token it
acquired for you (scope <code>api://demo/read</code>); the API verifies that token and answers:</p>
<pre id="api-result" data-state="pending">calling /api/hello…</pre>
<noscript><p><a href="/api/hello">Open /api/hello</a> (JavaScript is off).</p></noscript>
<p><a href="/.auth/me">/.auth/me</a> shows your claims as authward keeps them;
<a href="/easy-auth">an App Service sample page</a> runs unchanged behind authward.</p>
<form method="post" action="/.auth/logout"><button type="submit">Sign out</button></form>
<script src="/app.js"></script>
</body></html>
`;
}

/** Served as a file, so the page's Content-Security-Policy needs no 'unsafe-inline'. */
export const APP_JS = `const out = document.getElementById('api-result');
fetch('/api/hello', { headers: { accept: 'application/json' } })
  .then(async (res) => {
    const text = await res.text();
    out.textContent = 'HTTP ' + res.status + '\\n' + text;
    out.dataset.state = res.ok ? 'ok' : 'error';
  })
  .catch((err) => {
    out.textContent = 'request failed: ' + err;
    out.dataset.state = 'error';
  });
`;

export const STYLE_CSS = `body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin-bottom: 1rem; }
th, td { text-align: left; vertical-align: top; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid #ddd; }
th { font-weight: 600; white-space: nowrap; }
code, pre { font: 13px/1.4 ui-monospace, monospace; word-break: break-all; }
pre { background: #f4f4f4; padding: .75rem; white-space: pre-wrap; }
pre[data-state="ok"] { border-left: 4px solid #2a2; }
pre[data-state="error"] { border-left: 4px solid #c22; }
`;
