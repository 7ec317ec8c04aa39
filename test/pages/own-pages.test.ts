// Issue 17, item 2: every page authward renders says what happened in plain words and links the next
// step; 503s carry Retry-After; the request id sits at the bottom; a sign-out without a target ends on
// the signed-out page. (test/pages/pages-in-chromium.test.ts renders the same pages in Chromium.)
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { RETRY_AFTER_SECONDS } from '../../src/pages/error-pages.js';
import { pagesFor } from '../../src/pages/render.js';
import { Browser, parseForms, parseLinks, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';
import { type Captured, collectPages } from './scenarios.js';

/** status, heading, and the links (text -> href, absolute) each page must offer. */
const EXPECTED: Record<string, { status: number; h1: RegExp; links: Record<string, (u: string) => string> }> =
  {
    'sign-in-required': {
      status: 401,
      h1: /You are not signed in/,
      links: {
        'Sign in': (u) => `${u}/.auth/login?post_login_redirect_uri=%2Fapp%2Fform`,
        'Back to': (u) => `${u}/`,
      },
    },
    'sign-in-expired': {
      status: 400,
      h1: /Sign-in did not finish/,
      links: {
        'Sign in again': (u) => `${u}/.auth/login?post_login_redirect_uri=%2F`,
        'Back to': (u) => `${u}/`,
      },
    },
    'sign-in-cancelled': {
      status: 403,
      h1: /Sign-in was cancelled/,
      links: {
        'Sign in again': (u) => `${u}/.auth/login?post_login_redirect_uri=%2F`,
        'Back to': (u) => `${u}/`,
      },
    },
    'sign-out-confirm': {
      status: 200,
      h1: /^Sign out of Contoso &#60;Expenses&#62;\?$/,
      links: { Cancel: (u) => `${u}/` },
    },
    'sign-out-refused': {
      status: 403,
      h1: /Sign-out was not done/,
      links: { 'Sign out': (u) => `${u}/.auth/logout`, 'Back to': (u) => `${u}/` },
    },
    'sign-in-loop': {
      status: 508,
      h1: /Sign-in keeps starting over/,
      links: { 'Try again': (u) => `${u}/app`, 'Back to': (u) => `${u}/` },
    },
    'signed-out': {
      status: 200,
      h1: /You are signed out/,
      links: { 'Sign in again': (u) => `${u}/.auth/login?post_login_redirect_uri=%2F` },
    },
    'not-found': { status: 404, h1: /Page not found/, links: { 'Back to': (u) => `${u}/` } },
    'wrong-host': { status: 400, h1: /Wrong address/, links: { Open: (u) => `${u}/` } },
    forbidden: {
      status: 403,
      h1: /You do not have access/,
      links: { 'Back to': (u) => `${u}/`, 'Sign in with another account': (u) => `${u}/.auth/logout` },
    },
    'provider-unavailable': {
      status: 503,
      h1: /Temporarily unavailable/,
      links: { 'Try again': (u) => `${u}/app`, 'Back to': (u) => `${u}/` },
    },
    'upstream-unavailable': {
      status: 502,
      h1: /is not answering/,
      links: { 'Try again': (u) => `${u}/open/page`, 'Back to': (u) => `${u}/` },
    },
  };

t.setTimeout(600_000); // two authward instances, a provider, real sign-ins: a hang guard on a busy box
t.test('each page: plain words, the next step, the request id, own-page headers', async (t) => {
  const { url, down, pages } = await collectPages(t, { pages: { appName: 'Contoso <Expenses>' } });
  t.same(Object.keys(pages).sort(), Object.keys(EXPECTED).sort(), 'every page was produced');
  for (const [name, want] of Object.entries(EXPECTED)) {
    const page = pages[name] as Captured;
    const base = name.endsWith('-unavailable') ? down : url;
    await t.test(name, async (t) => {
      t.equal(page.status, want.status, `status ${want.status}`);
      t.match(page.headers['content-type'], /^text\/html; charset=utf-8/);
      t.match(page.headers['content-security-policy'], /default-src 'none'/, 'own-page CSP');
      t.match(page.body, /^<!doctype html>\n<html lang="en">/, 'a language');
      t.match(page.body, '<p class="app">Contoso &#60;Expenses&#62;</p>', 'pages.appName, escaped');
      t.equal(page.body.match(/<h1>/g)?.length, 1, 'one heading');
      t.match(/<h1>([^<]*)<\/h1>/.exec(page.body)?.[1], want.h1, 'says what happened');
      t.notMatch(page.body, /<script|<link|https?:\/\/(?!127\.0\.0\.1)/i, 'no script, no external resource');
      const id = String(page.headers['x-request-id']);
      t.match(page.body, `<footer><p>Request id: ${id}</p></footer>`, 'the request id, at the bottom');
      const links = parseLinks(page.body, page.url);
      for (const [text, href] of Object.entries(want.links)) {
        const link = links.find((l) => l.text.startsWith(text));
        t.equal(link?.href, href(base), `"${text}" links to ${href(base)}`);
      }
      if (want.status === 503) {
        t.equal(page.headers['retry-after'], String(RETRY_AFTER_SECONDS), 'Retry-After');
        t.match(page.body, `Try again in ${RETRY_AFTER_SECONDS} seconds`, 'and the page says when');
      } else {
        t.equal(page.headers['retry-after'], undefined, 'no Retry-After');
      }
    });
  }
  const confirm = pages['sign-out-confirm'] as Captured;
  const [form] = parseForms(confirm.body, confirm.url);
  t.same(form && { method: form.method, action: form.action }, {
    method: 'POST',
    action: `${url}/.auth/logout`,
  });
  t.match(pages['sign-in-cancelled']?.body, /cancelled on the sign-in page/, 'access_denied in plain words');
  const cancelled = String(pages['sign-in-cancelled']?.body);
  t.notMatch(
    cancelled.replace(/<p class="detail">.*<\/p>/, ''),
    /access_denied/,
    'no jargon but in the small print',
  );
  t.match(
    cancelled,
    '<p class="detail">403 the provider refused sign-in (access_denied)</p>',
    'which keeps the code',
  );
});

t.test('without pages.appName, pages name publicUrl’s host', async (t) => {
  t.equal(pagesFor(testConfig({ publicUrl: 'https://app.example:8443' })).appName, 'app.example:8443');
});

t.test('a sign-out without a target ends on the signed-out page', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const aw = await startApp({ idp, upstreamUrl: upstream.url });
  t.teardown(() => aw.close());
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  t.equal((await signIn(b, `${aw.url}/`, { login: 'alice' })).status, 200, 'signed in');
  const out = await b.navigate(`${aw.url}/.auth/logout`, { initiator: `${aw.url}/` });
  const [form] = parseForms(out.body, out.url);
  t.ok(form, "the provider's sign-out question");
  if (!form) return;
  const done = await b.submitForm(form, out.url, { logout: 'yes' });
  t.match(done.url, `${aw.url}/.auth/logout/complete`, 'back at authward');
  t.equal(done.status, 200);
  t.match(done.body, '<h1>You are signed out</h1>', "authward's signed-out page");
  t.notOk(
    done.hops.some((h) => h === `${aw.url}/`),
    'not sent to the app (which would sign in again)',
  );
  const again = parseLinks(done.body, done.url).find((l) => l.text === 'Sign in again');
  t.equal(again?.href, `${aw.url}/.auth/login?post_login_redirect_uri=%2F`, 'with "sign in again"');
});

t.test(
  'pages.templates: an operator layout replaces the built-in one; a bad folder is a config error',
  async (t) => {
    const dir = t.testdir({
      good: {
        'page.html':
          '<!doctype html><html lang="de"><title>{{title}}</title><main>{{content}}</main><small>{{requestId}} {{appName}}</small>',
      },
      missing: { 'page.html': '<html>{{title}}</html>' },
      typo: { 'page.html': '{{title}} {{contnet}} {{content}} {{requestId}}' },
      extra: { 'page.html': '{{title}} {{content}} {{requestId}}', 'error.html': 'x' },
    });
    const config = (templates: string) =>
      testConfig({ publicUrl: 'http://127.0.0.1:1', pages: { appName: 'Contoso', templates } });
    const pages = pagesFor(config(join(dir, 'good')));
    const html = pages.html({ status: 200, title: 'T <1>', paragraphs: ['p'], actions: [] }, 'rid');
    t.match(
      html,
      '<html lang="de"><title>T &#60;1&#62;</title><main><h1>T &#60;1&#62;</h1>',
      'the operator layout',
    );
    t.match(html, '<small>rid Contoso</small>');
    const problems = (folder: string) => {
      try {
        pagesFor(config(folder));
        return [];
      } catch (err) {
        t.type(err, ConfigError);
        return (err as ConfigError).problems;
      }
    };
    t.same(problems(join(dir, 'missing')), [
      `pages.templates: ${join(dir, 'missing', 'page.html')}: missing the placeholder {{content}}`,
      `pages.templates: ${join(dir, 'missing', 'page.html')}: missing the placeholder {{requestId}}`,
    ]);
    t.same(problems(join(dir, 'typo')), [
      `pages.templates: ${join(dir, 'typo', 'page.html')}: unknown placeholder {{contnet}} (known: title, appName, content, requestId)`,
    ]);
    t.same(problems(join(dir, 'extra')), [
      `pages.templates: ${join(dir, 'extra', 'error.html')}: unknown file (known: page.html)`,
    ]);
    t.same(problems(join(dir, 'nowhere')), [`pages.templates: ${join(dir, 'nowhere')}: no such folder`]);
  },
);
