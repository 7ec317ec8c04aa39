// How tests talk to a running authward: request-kind headers, an API-style call, logout, readiness, polling.
import type { Browser } from '../../lab/browser.js';

/** Headers of a script's fetch/XHR: authward answers 401 JSON, never a sign-in redirect. */
export const XHR = { accept: 'application/json', 'sec-fetch-mode': 'cors' } as const;
/** Headers of a top-level navigation: authward redirects to sign-in when needed. */
export const NAV = { accept: 'text/html', 'sec-fetch-mode': 'navigate' } as const;

/** Anything with the base URL of one authward instance. */
export interface HasUrl {
  url: string;
}

export interface RouteResult {
  status: number;
  /** The API's answer (sub, aud, ...) or authward's error JSON. */
  body: Record<string, unknown>;
  ms: number;
}

/** An API-style (non-navigation) GET: 401 JSON instead of a redirect when signed out. */
export async function call(
  browser: Browser,
  url: string,
  headers: Record<string, string> = {},
): Promise<RouteResult> {
  const started = performance.now();
  const res = await browser.fetch(url, { headers: { accept: 'application/json', ...headers } });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, ms: performance.now() - started };
}

/** POST /.auth/logout as the app's own page would (same-origin Origin header). */
export async function logout(browser: Browser, app: HasUrl): Promise<number> {
  const res = await browser.fetch(`${app.url}/.auth/logout`, {
    method: 'POST',
    headers: { origin: app.url },
  });
  await res.arrayBuffer();
  return res.status;
}

/** The token-store state /readyz reports. */
export async function readyz(app: HasUrl): Promise<{ status: number; tokenStore: string | undefined }> {
  const res = await fetch(`${app.url}/readyz`);
  const body = (await res.json()) as { dependencies?: Record<string, { state: string }> };
  return { status: res.status, tokenStore: body.dependencies?.tokenStore?.state };
}

/** Polls until `check` returns true (or throws after timeoutMs: a hang guard, not a margin). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
