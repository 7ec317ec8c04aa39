// A headless "browser" for tests: cookie jar, hop-by-hop redirects, HTML form submission, and signIn() through the test IdP.
//
// It models what matters to a sign-in flow and nothing else (no JavaScript, no subresources):
// Set-Cookie handling per RFC 6265bis (Path, Max-Age/Expires, deletion, Secure, __Host-/__Secure-
// prefixes, SameSite on cross-site requests, schemeful sites), redirect method rewriting, and the
// request headers a browser sends on a navigation (Sec-Fetch-*, Origin on POST, Referer).
import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, Response, request } from 'undici';

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface Cookie {
  name: string;
  value: string;
  /** origin scope: the origin the cookie belongs to; host scope: the host or Domain attribute. */
  scope: string;
  /** host scope only: false when a Domain attribute widened the cookie to subdomains. */
  hostOnly: boolean;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
  secure: boolean;
  httpOnly: boolean;
  /** As sent; an absent attribute is enforced as Lax (Chrome's default). */
  sameSite?: SameSite;
  creation: number;
}

export interface CookieInit {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  maxAge?: number;
  expires?: Date;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSite;
}

export interface BrowserOptions {
  /** CA certificate(s) to trust for https (e.g. idp.caPem). Only this browser trusts them. */
  ca?: string | string[];
  /**
   * 'origin' (default): cookies are isolated per scheme://host:port. On 127.0.0.1 the app and the
   * IdP differ only by port, while in production they are on different hosts; per-origin jars keep
   * them apart like production does. 'host': exact browser rules (cookies ignore the port, the
   * Domain attribute is honoured), e.g. to test two apps on one host sharing a cookie name.
   */
  cookieScope?: 'origin' | 'host';
  /** Enforce SameSite on cross-site requests (default true). */
  enforceSameSite?: boolean;
  /** Redirect hops per navigation before giving up (default 20, like browsers). */
  maxRedirects?: number;
  userAgent?: string;
  /** Host names this browser reaches at a fixed address (app.test -> 127.0.0.1): no DNS, no /etc/hosts. */
  hosts?: Record<string, string>;
}

export interface BrowserRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** URL of the page (or redirect chain) that caused this request; undefined = typed by the user. */
  initiator?: string | string[];
  /** A top-level navigation (Lax cookies travel cross-site on GET navigations only). */
  navigation?: boolean;
}

export interface NavigateOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** URL of the page the navigation starts from (a link or form on it); undefined = typed URL. */
  initiator?: string;
}

export interface NavigateResult {
  response: Response;
  status: number;
  /** The final URL. */
  url: string;
  body: string;
  /** Every URL requested, in order; the last is `url`. */
  hops: string[];
}

export interface HtmlForm {
  action: string;
  method: string;
  /** Inputs with a name (hidden ones included), first value wins. */
  fields: Record<string, string>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

// ---------------------------------------------------------------- HTML scraping (enough for oidc-provider's pages)
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number.parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? _m;
  });
}

function parseAttributes(s: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of s.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    if (name && !(name in attrs)) attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Forms of a page, with their action resolved against the page URL. */
export function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = parseAttributes(m[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of (m[2] ?? '').matchAll(/<(?:input|button)\b([^>]*)>/gi)) {
      const a = parseAttributes(input[1] ?? '');
      if (a.name && !(a.name in fields)) fields[a.name] = a.value ?? '';
    }
    forms.push({
      action: new URL(attrs.action ?? '', baseUrl).href,
      method: (attrs.method ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

/** Links of a page: [text, absolute href]. */
export function parseLinks(html: string, baseUrl: string): { text: string; href: string }[] {
  const links: { text: string; href: string }[] = [];
  for (const m of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi)) {
    const { href } = parseAttributes(m[1] ?? '');
    if (href !== undefined) {
      links.push({
        text: decodeEntities((m[2] ?? '').replace(/<[^>]*>/g, '')).trim(),
        href: new URL(href, baseUrl).href,
      });
    }
  }
  return links;
}

// ---------------------------------------------------------------- URL / site helpers
function isIpHost(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}

/** Hosts a browser treats as potentially trustworthy over http (Secure cookies allowed). */
function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === '[::1]' || host === 'localhost' || host.endsWith('.localhost');
}

function isSecureContext(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}

/** Schemeful site; the registrable domain is approximated by the last two labels (no public suffix list). */
function siteOf(url: URL): string {
  const host = url.hostname;
  const registrable = isIpHost(host) || !host.includes('.') ? host : host.split('.').slice(-2).join('.');
  return `${url.protocol}//${registrable}`;
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
  return p.slice(0, p.lastIndexOf('/'));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (!isIpHost(host) && host.endsWith(`.${domain}`));
}

// ---------------------------------------------------------------- the browser
export class Browser {
  readonly dispatcher: Agent;
  private jar: Cookie[] = [];
  private readonly scopeMode: 'origin' | 'host';
  private readonly enforceSameSite: boolean;
  private readonly maxRedirects: number;
  private readonly userAgent: string;

  constructor(opts: BrowserOptions = {}) {
    this.dispatcher = new Agent({
      connect: {
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.hosts ? { lookup: hostsLookup(opts.hosts) } : {}),
      },
    });
    this.scopeMode = opts.cookieScope ?? 'origin';
    this.enforceSameSite = opts.enforceSameSite ?? true;
    this.maxRedirects = opts.maxRedirects ?? 20;
    this.userAgent = opts.userAgent ?? 'authward-test-browser/1.0';
  }

  /** Close pooled connections. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  // ------------------------------------------------------------ cookies
  private purgeExpired(now = Date.now()): void {
    this.jar = this.jar.filter((c) => c.expires === undefined || c.expires > now);
  }

  private inScope(c: Cookie, url: URL): boolean {
    if (this.scopeMode === 'origin') return c.scope === url.origin;
    return c.hostOnly ? c.scope === url.hostname : domainMatches(url.hostname, c.scope);
  }

  /** Stored cookies, all of them or those in scope for a URL/origin (any path). Copies. */
  cookies(urlOrOrigin?: string): Cookie[] {
    this.purgeExpired();
    const url = urlOrOrigin === undefined ? undefined : new URL(urlOrOrigin);
    return this.jar.filter((c) => !url || this.inScope(c, url)).map((c) => ({ ...c }));
  }

  /** The value of one cookie in scope for a URL (any path), if any. */
  cookie(urlOrOrigin: string, name: string): string | undefined {
    return this.cookies(urlOrOrigin).find((c) => c.name === name)?.value;
  }

  /** Add cookies exported from another Browser (same scope mode), replacing same name/scope/path. */
  addCookies(cookies: Cookie[]): void {
    for (const c of cookies) this.store({ ...c });
  }

  /** The Cookie header this browser would send to url (same-site context unless told otherwise). */
  cookieHeader(
    url: string,
    ctx: { crossSite?: boolean; navigation?: boolean; method?: string } = {},
  ): string | undefined {
    const target = new URL(url);
    this.purgeExpired();
    const method = (ctx.method ?? 'GET').toUpperCase();
    const matching = this.jar.filter((c) => {
      if (!this.inScope(c, target) || !pathMatches(target.pathname, c.path)) return false;
      if (c.secure && !isSecureContext(target)) return false;
      if (ctx.crossSite && this.enforceSameSite) {
        const mode = c.sameSite ?? 'Lax';
        if (mode === 'Strict') return false;
        if (mode === 'Lax' && !(ctx.navigation && (method === 'GET' || method === 'HEAD'))) return false;
      }
      return true;
    });
    // RFC 6265 5.4: longer paths first, then older cookies first.
    matching.sort((a, b) => b.path.length - a.path.length || a.creation - b.creation);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Apply a Set-Cookie header value (or a structured cookie) as if `url` had sent it. Returns false if rejected. */
  setCookie(url: string, cookie: string | CookieInit): boolean {
    if (typeof cookie === 'string') return this.applySetCookie(new URL(url), cookie);
    const parts = [`${cookie.name}=${cookie.value}`];
    if (cookie.path) parts.push(`Path=${cookie.path}`);
    if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
    if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
    if (cookie.expires) parts.push(`Expires=${cookie.expires.toUTCString()}`);
    if (cookie.secure) parts.push('Secure');
    if (cookie.httpOnly) parts.push('HttpOnly');
    if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
    return this.applySetCookie(new URL(url), parts.join('; '));
  }

  /** Delete cookies in scope for url with that name (any path unless given). */
  deleteCookie(url: string, name: string, path?: string): void {
    const target = new URL(url);
    this.jar = this.jar.filter(
      (c) => !(c.name === name && this.inScope(c, target) && (path === undefined || c.path === path)),
    );
  }

  /** Clear every cookie, or those in scope for a URL/origin. */
  clearCookies(urlOrOrigin?: string): void {
    if (urlOrOrigin === undefined) {
      this.jar = [];
      return;
    }
    const target = new URL(urlOrOrigin);
    this.jar = this.jar.filter((c) => !this.inScope(c, target));
  }

  private store(cookie: Cookie): void {
    const existing = this.jar.findIndex(
      (c) =>
        c.name === cookie.name &&
        c.scope === cookie.scope &&
        c.hostOnly === cookie.hostOnly &&
        c.path === cookie.path,
    );
    if (existing >= 0) {
      // An overwrite keeps the original creation time (RFC 6265 5.3 step 11.3).
      cookie.creation = this.jar[existing]?.creation ?? cookie.creation;
      this.jar.splice(existing, 1);
    }
    if (cookie.expires !== undefined && cookie.expires <= Date.now()) return; // a deletion
    this.jar.push(cookie);
  }

  private applySetCookie(url: URL, header: string): boolean {
    const [pair = '', ...attrParts] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return false;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!name) return false;

    let path: string | undefined;
    let domain: string | undefined;
    let maxAge: number | undefined;
    let expires: number | undefined;
    let secure = false;
    let httpOnly = false;
    let sameSite: SameSite | undefined;
    for (const part of attrParts) {
      const i = part.indexOf('=');
      const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : part.slice(i + 1).trim();
      switch (key) {
        case 'path':
          path = val.startsWith('/') ? val : undefined;
          break;
        case 'domain':
          domain = val.replace(/^\./, '').toLowerCase() || undefined;
          break;
        case 'max-age':
          if (/^-?\d+$/.test(val)) maxAge = Number(val);
          break;
        case 'expires': {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
          break;
        }
        case 'secure':
          secure = true;
          break;
        case 'httponly':
          httpOnly = true;
          break;
        case 'samesite': {
          const v = val.toLowerCase();
          sameSite = v === 'strict' ? 'Strict' : v === 'none' ? 'None' : v === 'lax' ? 'Lax' : undefined;
          break;
        }
        default:
      }
    }

    // Secure cookies only from secure contexts (https, or loopback http as modern browsers allow).
    if (secure && !isSecureContext(url)) return false;
    if (name.startsWith('__Secure-') && !secure) return false;
    if (name.startsWith('__Host-') && (!secure || domain !== undefined || path !== '/')) return false;

    let scope: string;
    let hostOnly = true;
    if (this.scopeMode === 'origin') {
      // Domain cannot widen a per-origin cookie; a foreign Domain is still rejected, like a browser.
      if (domain !== undefined && !domainMatches(url.hostname, domain)) return false;
      scope = url.origin;
    } else if (domain !== undefined) {
      if (!domainMatches(url.hostname, domain)) return false;
      scope = domain;
      hostOnly = isIpHost(url.hostname);
    } else {
      scope = url.hostname;
    }

    const now = Date.now();
    // Max-Age wins over Expires; Max-Age <= 0 means "expire now".
    const expiresAt = maxAge !== undefined ? (maxAge <= 0 ? 0 : now + maxAge * 1000) : expires;
    this.store({
      name,
      value,
      scope,
      hostOnly,
      path: path ?? defaultPath(url),
      expires: expiresAt,
      secure,
      httpOnly,
      sameSite,
      creation: now,
    });
    return true;
  }

  // ------------------------------------------------------------ requests
  /** One request, no redirect following: sends matching cookies, stores Set-Cookie. */
  async fetch(url: string, init: BrowserRequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const initiators = init.initiator === undefined ? [] : [init.initiator].flat();
    const crossSite = initiators.some((u) => siteOf(new URL(u)) !== siteOf(target));
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    const cookie = this.cookieHeader(target.href, {
      crossSite,
      navigation: init.navigation ?? false,
      method,
    });
    if (cookie) headers.cookie = cookie;
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    let body = init.body;
    if (body instanceof URLSearchParams) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      body = body.toString();
    }
    // undici.request, not fetch: fetch adds its own Sec-Fetch-Mode (cors), which no browser navigation sends.
    const raw = await request(target, {
      method: method as 'GET',
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
      dispatcher: this.dispatcher,
    });
    const responseHeaders: [string, string][] = [];
    for (const [k, v] of Object.entries(raw.headers)) {
      for (const one of [v ?? []].flat()) responseHeaders.push([k, String(one)]);
    }
    const bytes = Buffer.from(await raw.body.arrayBuffer());
    const nullBody = method === 'HEAD' || raw.statusCode === 204 || raw.statusCode === 304;
    const response = new Response(nullBody ? null : bytes, {
      status: raw.statusCode,
      headers: responseHeaders,
    });
    for (const setCookie of response.headers.getSetCookie()) this.applySetCookie(target, setCookie);
    return response;
  }

  /** A top-level navigation: follows redirects hop by hop, reads the final body. */
  async navigate(url: string, opts: NavigateOptions = {}): Promise<NavigateResult> {
    let current = new URL(url);
    let method = (opts.method ?? 'GET').toUpperCase();
    let body = opts.body instanceof URLSearchParams ? opts.body.toString() : opts.body;
    let contentType = opts.body instanceof URLSearchParams ? 'application/x-www-form-urlencoded' : undefined;
    // The chain a browser looks at for SameSite: the initiating page and every hop so far.
    const chain: string[] = opts.initiator ? [opts.initiator] : [];
    const hops: string[] = [];
    let referrer = opts.initiator;

    for (let hop = 0; ; hop++) {
      hops.push(current.href);
      const headers: Record<string, string> = {
        accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        'sec-fetch-mode': 'navigate',
        'sec-fetch-dest': 'document',
        'sec-fetch-site': fetchSite(chain, current),
        'upgrade-insecure-requests': '1',
      };
      if (contentType) headers['content-type'] = contentType;
      if (method === 'POST' && referrer) headers.origin = new URL(referrer).origin;
      const ref = referrer ? referrerFor(new URL(referrer), current) : undefined;
      if (ref) headers.referer = ref;
      Object.assign(headers, lowerKeys(opts.headers ?? {}));

      const response = await this.fetch(current.href, {
        method,
        headers,
        body,
        initiator: chain,
        navigation: true,
      });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || !location) {
        return { response, status: response.status, url: current.href, body: await response.text(), hops };
      }
      await response.arrayBuffer(); // drain so the connection returns to the pool
      if (hop >= this.maxRedirects)
        throw new Error(`navigate: more than ${this.maxRedirects} redirects: ${hops.join(' -> ')}`);
      // 303 always, and 301/302 after POST (what browsers do), become a GET without a body.
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      ) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        contentType = undefined;
      }
      chain.push(current.href);
      referrer = current.href;
      current = new URL(location, current);
    }
  }

  /** Submit a parsed form as a navigation from `pageUrl`, with fields overriding the form's own. */
  submitForm(form: HtmlForm, pageUrl: string, fields: Record<string, string> = {}): Promise<NavigateResult> {
    const data = new URLSearchParams({ ...form.fields, ...fields });
    if (form.method === 'GET') {
      const action = new URL(form.action);
      action.search = data.toString();
      return this.navigate(action.href, { initiator: pageUrl });
    }
    return this.navigate(form.action, { method: 'POST', body: data, initiator: pageUrl });
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function fetchSite(chain: string[], target: URL): string {
  if (chain.length === 0) return 'none';
  const urls = chain.map((u) => new URL(u));
  if (urls.every((u) => u.origin === target.origin)) return 'same-origin';
  if (urls.every((u) => siteOf(u) === siteOf(target))) return 'same-site';
  return 'cross-site';
}

/** strict-origin-when-cross-origin, the default referrer policy. */
function referrerFor(from: URL, to: URL): string | undefined {
  if (from.protocol === 'https:' && to.protocol === 'http:') return undefined;
  if (from.origin === to.origin) return `${from.origin}${from.pathname}${from.search}`;
  return `${from.origin}/`;
}

// ---------------------------------------------------------------- sign-in through the test IdP
export interface SignInOptions {
  login: string;
  password?: string;
  /** false: cancel the consent screen (the app then receives error=access_denied). Default true. */
  consent?: boolean;
  /** Interaction pages to get through before giving up (default 10). */
  maxSteps?: number;
}

export interface SignInResult {
  status: number;
  url: string;
  body: string;
  /** Every URL requested across all navigations. */
  hops: string[];
  response: Response;
}

function promptOf(form: HtmlForm): string | undefined {
  return form.method === 'POST' ? form.fields.prompt : undefined;
}

/**
 * Navigate to startUrl and get through the IdP: fill the dev-interaction login form (any login is
 * accepted and becomes the subject), accept (or cancel) every consent form, auto-submit form_post
 * responses, and stop at the first page that is none of those (the app's answer).
 */
export async function signIn(browser: Browser, startUrl: string, opts: SignInOptions): Promise<SignInResult> {
  let page = await browser.navigate(startUrl);
  const hops = [...page.hops];
  for (let step = 0; step < (opts.maxSteps ?? 10); step++) {
    const forms = parseForms(page.body, page.url);
    const login = forms.find((f) => promptOf(f) === 'login');
    const consent = forms.find((f) => promptOf(f) === 'consent');
    // response_mode=form_post: a page whose script submits its only form on load.
    const autoPost =
      forms.length === 1 && /forms\[0\]\.submit\(\)/.test(page.body) && !login && !consent
        ? forms[0]
        : undefined;
    if (login) {
      page = await browser.submitForm(login, page.url, {
        login: opts.login,
        password: opts.password ?? 'password',
      });
    } else if (consent && opts.consent === false) {
      const abort = parseLinks(page.body, page.url).find((l) => /\/abort$/.test(new URL(l.href).pathname));
      if (!abort) throw new Error(`signIn: no cancel link on the consent page ${page.url}`);
      page = await browser.navigate(abort.href, { initiator: page.url });
    } else if (consent) {
      page = await browser.submitForm(consent, page.url);
    } else if (autoPost) {
      page = await browser.submitForm(autoPost, page.url);
    } else {
      break;
    }
    hops.push(...page.hops);
  }
  return { status: page.status, url: page.url, body: page.body, hops, response: page.response };
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, except for the listed names (net.connect asks with `all: true` when it races families). */
function hostsLookup(hosts: Record<string, string>) {
  return (hostname: string, options: LookupOptions, cb: LookupCallback) => {
    const address = hosts[hostname];
    if (address === undefined) return lookup(hostname, options, cb as never);
    const family = isIP(address);
    if (options.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
}
