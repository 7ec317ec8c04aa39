// The demo provider's own pages, self-contained: nothing loads from outside loopback, and sign-out is
// one click (authward's "Sign out" ends on authward's signed-out page, not on a second question here).
//
// oidc-provider's pages (devInteractions' login and consent, the sign-out question, errors) import a
// Google web font; the sign-out question, its success page and the error page are replaced here, and
// the interaction pages (not configurable in devInteractions) lose the font import on the way out.
import type { KoaContext } from './oidc-types.js';

const htmlText = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlText(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:12vh auto;padding:0 1rem;color:#1f1f1f}button{font:inherit;padding:.5rem 1rem}</style>
</head><body><main><h1>${htmlText(title)}</h1>${body}</main></body></html>`;

/**
 * The end-session question, answered for the user: the demo's only client asked for the sign-out, and
 * a second "Do you want to sign out?" with two look-alike buttons is what the issue complained about.
 * The form (with its xsrf token) submits itself with logout=yes; without JavaScript it is one button.
 */
export async function logoutSource(ctx: KoaContext, form: string) {
  const yes =
    '<input type="hidden" name="logout" value="yes"><button type="submit">Finish signing out</button></form>';
  ctx.body = page(
    'Signing out…',
    `${form.replace('</form>', yes)}<script>document.forms[0].submit()</script>`,
  );
}

/** Signed out at the provider with no way back given (authward always gives one). */
export async function postLogoutSuccessSource(ctx: KoaContext) {
  ctx.body = page('Signed out', '<p>You are signed out of the demo provider.</p>');
}

type Html = KoaContext & { type: string };

export async function renderError(ctx: Html, out: Record<string, unknown>) {
  ctx.type = 'html';
  ctx.body = page('Sign-in error', `<p>${htmlText(out.error)}</p><p>${htmlText(out.error_description)}</p>`);
}

/** Koa middleware: HTML answers keep no @import of a stylesheet from elsewhere (devInteractions' font). */
export async function withoutExternalResources(ctx: KoaContext, next: () => Promise<void>) {
  await next();
  if (typeof ctx.body === 'string' && /html/.test((ctx as Html).type)) {
    ctx.body = ctx.body.replace(/@import url\(https?:\/\/[^)]*\);?/g, '');
  }
}
