// The error catalogue as an API: every entry's code and status, and how it is answered (JSON for API
// callers, a small page for browsers, both with the own-page headers and never a stack trace), whether
// thrown (the error handler) or answered in place (sendError).
import Fastify, { type FastifyError } from 'fastify';
import t from 'tap';
import { request } from 'undici';
import * as catalogue from '../../src/errors.js';
import { pagesFor } from '../../src/pages/render.js';
import { errorHandler, OWN_PAGE_HEADERS, sendError } from '../../src/responses.js';
import { testConfig } from '../helpers/config.js';

/** Export name -> [code, status]. A new entry, or a changed one, must be written here. */
const EXPECTED: Record<string, [string, number]> = {
  BadRequestError: ['AW_BAD_REQUEST', 400],
  UnauthenticatedError: ['AW_UNAUTHENTICATED', 401],
  InteractionRequiredError: ['AW_INTERACTION_REQUIRED', 401],
  ForbiddenError: ['AW_FORBIDDEN', 403],
  InvalidTokenError: ['AW_INVALID_TOKEN', 401],
  InsufficientScopeError: ['AW_INSUFFICIENT_SCOPE', 403],
  InsufficientClaimsError: ['AW_INSUFFICIENT_CLAIMS', 401],
  OnBehalfOfUnavailableError: ['AW_ON_BEHALF_OF_UNAVAILABLE', 502],
  CrossSiteSignOutError: ['AW_FORBIDDEN', 403],
  UntrustedPeerError: ['AW_FORBIDDEN', 403],
  ClientIdentityHeaderError: ['AW_FORBIDDEN', 403],
  CrossOriginError: ['AW_CROSS_ORIGIN', 403],
  SignInFailedError: ['AW_SIGN_IN_FAILED', 400],
  SignInRefusedError: ['AW_SIGN_IN_FAILED', 403],
  NotFoundError: ['AW_NOT_FOUND', 404],
  WrongHostError: ['AW_WRONG_HOST', 400],
  MethodNotAllowedError: ['AW_METHOD_NOT_ALLOWED', 405],
  PayloadTooLargeError: ['AW_PAYLOAD_TOO_LARGE', 413],
  TooManyHeadersError: ['AW_TOO_MANY_HEADERS', 431],
  ClientGoneError: ['AW_CLIENT_GONE', 499],
  ProviderConfigError: ['AW_PROVIDER_CONFIG', 500],
  UpstreamUnavailableError: ['AW_UPSTREAM_UNAVAILABLE', 502],
  TokenStoreUnavailableError: ['AW_TOKEN_STORE_UNAVAILABLE', 503],
  ProviderUnavailableError: ['AW_PROVIDER_UNAVAILABLE', 503],
  ShuttingDownError: ['AW_SHUTTING_DOWN', 503],
  UpstreamTimeoutError: ['AW_UPSTREAM_TIMEOUT', 504],
  SignInLoopError: ['AW_SIGN_IN_LOOP', 508],
};

type Ctor = new (...args: string[]) => FastifyError;
const entries = Object.entries(catalogue).filter(([name]) => name !== 'ConfigError') as [string, Ctor][];

/** An instance; entries whose message takes a detail get one that needs escaping on a page. */
function make(E: Ctor): FastifyError {
  const bare = new E();
  const details = bare.message.match(/%s/g) ?? [];
  return details.length ? new E(...details.map(() => 'detail <b>"quoted"</b> & more')) : bare;
}

/** authward's pages, as buildApp decorates them. */
const pages = pagesFor(testConfig({ publicUrl: 'http://127.0.0.1:1' }));
const htmlText = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

t.test('every export is an expected entry, and every expected entry is exported', async (t) => {
  t.same(entries.map(([name]) => name).sort(), Object.keys(EXPECTED).sort());
  t.ok(catalogue.ConfigError, 'ConfigError stays: the CLI reports it, it is never an HTTP answer');
});

t.test('each entry answers with its code, status and body shape, never a stack', async (t) => {
  const app = Fastify({ logger: false }).decorate('pages', pages);
  app.setErrorHandler(errorHandler);
  const byName = new Map(entries);
  app.get('/throw/:name', async (req) => {
    throw make(byName.get((req.params as { name: string }).name) as Ctor);
  });
  app.get('/send/:name', async (req, reply) =>
    sendError(req, reply, make(byName.get((req.params as { name: string }).name) as Ctor)),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };

  for (const [name, E] of entries) {
    const [code, status] = EXPECTED[name] as [string, number];
    const err = make(E);
    t.equal(err.code, code, `${name}: code`);
    t.equal(err.statusCode, status, `${name}: status`);
    t.match(err.code, /^AW_[A-Z_]+$/, `${name}: an authward code`);
    t.ok(err.message.length > 0 && err.message.length <= 200, `${name}: a short message`);
    t.notMatch(err.message, /%s/, `${name}: the message is formatted`);
    const wire = code.slice(3).toLowerCase();

    for (const how of ['throw', 'send']) {
      const api = await request(`http://127.0.0.1:${port}/${how}/${name}`, {
        headers: { accept: 'application/json' },
      });
      const text = await api.body.text();
      t.equal(api.statusCode, status, `${name} ${how}: JSON status`);
      t.match(api.headers['content-type'], /^application\/json/, `${name} ${how}: JSON`);
      const body = JSON.parse(text);
      t.same(Object.keys(body).sort(), ['error', 'message', 'requestId'], `${name} ${how}: JSON fields`);
      t.match(body, { error: wire, message: err.message, requestId: /^req-/ }, `${name} ${how}: JSON body`);
      t.notMatch(text, /\bat [\w.<>]+ \(|stack|node:internal/, `${name} ${how}: no stack in JSON`);
      for (const [h, v] of Object.entries(OWN_PAGE_HEADERS))
        t.equal(api.headers[h], v, `${name} ${how}: ${h}`);

      const page = await request(`http://127.0.0.1:${port}/${how}/${name}`, {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      });
      const html = await page.body.text();
      t.equal(page.statusCode, status, `${name} ${how}: page status`);
      t.match(page.headers['content-type'], /^text\/html; charset=utf-8/, `${name} ${how}: a page`);
      t.match(html, /<h1>[^<]+<\/h1>/, `${name} ${how}: a heading in plain words`);
      t.ok(
        html.includes(`<p class="detail">${status} ${htmlText(err.message)}</p>`),
        `${name} ${how}: status and escaped message, kept small`,
      );
      t.notOk(html.includes('<b>'), `${name} ${how}: nothing unescaped`);
      t.notMatch(html, /\bat [\w.<>]+ \(|node:internal/, `${name} ${how}: no stack on the page`);
      for (const [h, v] of Object.entries(OWN_PAGE_HEADERS))
        t.equal(page.headers[h], v, `${name} ${how}: ${h}`);
    }
  }
});

t.test('extra fields and hints: JSON fields and a list; paragraphs on the page', async (t) => {
  const app = Fastify({ logger: false }).decorate('pages', pages);
  app.get('/', async (req, reply) =>
    sendError(req, reply, new catalogue.SignInLoopError(), { loginUrl: '/.auth/login' }, ['one <i>', 'two']),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
  const api = await request(url, { headers: { accept: 'application/json' } });
  t.match(await api.body.json(), {
    error: 'sign_in_loop',
    loginUrl: '/.auth/login',
    hints: ['one <i>', 'two'],
  });
  const page = await request(url, { headers: { 'sec-fetch-mode': 'navigate' } });
  const html = await page.body.text();
  t.ok(html.includes('<p>one &#60;i&#62;</p>\n<p>two</p>'), 'hints are escaped paragraphs');
  t.notOk(html.includes('/.auth/login'), 'extra fields are for API callers');
});
