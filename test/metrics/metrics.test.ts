// /metrics on its own port exposes request, sign-in, token and dependency series after real traffic, under
// names stock dashboards know (process_*, nodejs_*), with build info, each count once, and HEAD answered.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { repoPath } from '../helpers/repo-root.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

t.test('metrics after a sign-in and a routed request', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const api = await startApi(idp, { audience: 'api://orders' });
  t.teardown(() => api.close());
  const metricsPort = await freePort();
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      metrics: { enabled: true, host: '127.0.0.1', port: metricsPort },
      routes: [{ name: 'orders', path: '/orders', target: api.url, scopes: ['api://orders/read'] }],
    },
  });
  t.teardown(() => aw.close());

  const browser = new Browser({ ca: idp.caPem });
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'mia' })).status, 200);
  t.equal((await browser.fetch(`${aw.url}/orders/1`)).status, 200);
  t.equal((await browser.fetch(`${aw.url}/orders/2`)).status, 200);

  const onMain = await fetch(`${aw.url}/metrics`);
  t.not(
    onMain.headers.get('content-type')?.startsWith('text/plain; version'),
    true,
    'not served on the proxy port',
  );
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(res.status, 200);
  const text = await res.text();
  t.match(text, /authward_http_requests_total\{route="orders",status_class="2xx",client="browser"\} 2/);
  t.match(text, /authward_http_requests_total\{route="upstream",status_class="2xx",client="browser"\} 1/);
  t.match(text, /# TYPE authward_http_request_duration_seconds histogram/);
  t.match(text, /authward_http_request_duration_seconds_count\{route="orders"\} 2\n/);
  const buckets = [
    ...text.matchAll(/authward_http_request_duration_seconds_bucket\{route="orders",le="([^"]+)"\} (\d+)/g),
  ].map((m) => ({ le: m[1], n: Number(m[2]) }));
  t.equal(buckets.length, 14, 'every bucket of the route, +Inf last');
  t.equal(buckets.at(-1)?.le, '+Inf');
  t.equal(buckets.at(-1)?.n, 2, '+Inf counts every request');
  t.ok(
    buckets.every((b, i) => i === 0 || b.n >= (buckets[i - 1]?.n ?? 0)),
    `cumulative: ${buckets.map((b) => b.n).join(' ')}`,
  );
  const sum = Number(
    /authward_http_request_duration_seconds_sum\{route="orders"\} ([\d.e-]+)/.exec(text)?.[1],
  );
  t.ok(sum > 0 && sum < 20, `sum of durations ${sum} s`);
  t.match(text, /authward_sign_ins_total\{result="ok"\} 1\n/, 'no empty reason label');
  t.notMatch(text, /=""/, 'no empty label anywhere');
  t.match(text, /authward_token_acquisitions_total\{route="orders",source="(store|refresh)"\} 1/);
  t.match(text, /authward_token_acquisitions_total\{route="orders",source="l1"\} 1/);
  // The one acquisition that missed the L1 is timed, by source (an L1 hit is not).
  t.match(text, /authward_token_acquisition_duration_seconds_count\{source="(store|refresh)"\} 1\n/);
  t.match(
    text,
    /authward_token_acquisition_duration_seconds_bucket\{source="(store|refresh)",le="\+Inf"\} 1\n/,
  );
  t.notMatch(text, /authward_token_acquisition_duration_seconds_count\{source="l1"\}/);
  t.match(text, /authward_dependency_up\{dependency="provider"\} 1/);
  t.match(text, /authward_dependency_up\{dependency="tokenStore"\} 1/);
  t.match(text, /authward_ready 1/);
  t.notMatch(text, /mia/, 'no user identifiers in metrics');
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'));
  t.match(text, `authward_build_info{version="${version}",node="${process.version}"} 1\n`);
  // Node's standard series under their usual names, so stock dashboards work.
  t.match(text, /^process_resident_memory_bytes \d+/m);
  t.match(text, /^nodejs_heap_size_used_bytes \d+/m);
  t.notMatch(text, /authward_(process|nodejs)_/, 'no prefixed copies');
  // One counter per fact: the token sources are labels of authward_token_acquisitions_total.
  t.notMatch(text, /authward_token_(l1|store)_hits_total/);

  const head = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD answered');
  t.match(head.headers.get('content-type'), /^text\/plain; version=/);
  t.equal(await head.text(), '', 'without a body');
});
