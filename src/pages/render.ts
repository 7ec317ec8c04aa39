// Renders authward's own pages: a Page (heading, plain-words paragraphs, the next steps) into the layout.
import type { FastifyReply } from 'fastify';
import type { Config } from '../config/schema.js';
import { escapeHtml } from './html.js';
import { type Compiled, loadLayout } from './templates.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** authward's own pages (errors, signed out, sign-out confirmation), built once from config.pages. */
    pages: Pages;
  }
}

/** A next step: a link, or a button that POSTs (sign-out confirmation). The first one is the main one. */
export interface Action {
  label: string;
  href: string;
  post?: boolean;
}

export interface Page {
  status: number;
  title: string;
  /** Plain text, one paragraph each (escaped here). */
  paragraphs: readonly string[];
  actions: readonly Action[];
  /** The technical line, kept small (an error's status and catalogue message: what logs and docs quote). */
  detail?: string;
}

/** Security headers for every page authward itself renders (and its redirects). */
export const OWN_PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

export class Pages {
  constructor(
    /** What users call the application (pages.appName, else publicUrl's host). */
    readonly appName: string,
    /** publicUrl's origin: where the app lives (the wrong-host page links to it). */
    readonly origin: string,
    private readonly layout: Compiled,
    private readonly loginPath: string,
    /** /.auth/logout, for "sign in as someone else". */
    readonly logoutPath: string,
  ) {}

  /** A same-origin URL that starts a sign-in and comes back to `returnTo` (a path). */
  signInUrl(returnTo = '/'): string {
    return `${this.loginPath}?${new URLSearchParams({ post_login_redirect_uri: returnTo })}`;
  }

  html(page: Page, requestId: string): string {
    const paragraphs = page.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
    const actions = page.actions.map((a, i) => action(a, i === 0)).join('\n');
    const detail = page.detail === undefined ? '' : `\n<p class="detail">${escapeHtml(page.detail)}</p>`;
    return this.layout({
      title: escapeHtml(page.title),
      appName: escapeHtml(this.appName),
      content: `<h1>${escapeHtml(page.title)}</h1>\n${paragraphs}\n<div class="next">\n${actions}\n</div>${detail}`,
      requestId: escapeHtml(requestId),
    });
  }

  send(reply: FastifyReply, page: Page, requestId: string) {
    return reply
      .code(page.status)
      .headers(OWN_PAGE_HEADERS)
      .type('text/html; charset=utf-8')
      .send(this.html(page, requestId));
  }
}

function action(a: Action, main: boolean): string {
  const label = escapeHtml(a.label);
  if (a.post) {
    return `<form method="post" action="${escapeHtml(a.href)}"><button type="submit">${label}</button></form>`;
  }
  return `<a href="${escapeHtml(a.href)}"${main ? ' class="button"' : ''}>${label}</a>`;
}

/** Built once at start; a bad templates folder is a ConfigError (pages.templates: <file>: why). */
export function pagesFor(config: Config): Pages {
  const prefix = config.identity.pathPrefix.replace(/\/+$/, '');
  const url = new URL(config.publicUrl);
  return new Pages(
    config.pages.appName || url.host,
    url.origin,
    loadLayout(config.pages.templates),
    `${prefix}/login`,
    `${prefix}/logout`,
  );
}
