// Prometheus metrics: what operators alert on. No user identifiers in labels, ever.
//
// Hot-path counters are plain numbers handed to prom-client at scrape time, and the duration histogram
// are custom collectors (Durations, below); token and store counters are read at scrape time too.
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  type Metric,
  type MetricValueWithName,
  Registry,
} from 'prom-client';
import type { Readiness } from '../health/readiness.js';
import type { Store } from '../token-cache/store.js';
import type { TokenService } from '../tokens/token-service.js';
import { VERSION } from '../version.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Who called: a bearer token, a session, or neither (the access log's `client`). */
export const CLIENTS = ['api', 'browser', 'anonymous'] as const;
export type Client = (typeof CLIENTS)[number];
const CLIENT_INDEX: Record<Client, number> = { api: 0, browser: 1, anonymous: 2 };

export class Metrics {
  readonly registry = new Registry();
  private readonly duration: Durations;
  private readonly counts = new Map<string, number[]>();
  private readonly signIns: Counter<'result' | 'reason'>;
  private readonly interactions: Counter<'route' | 'kind'>;
  private readonly upstreamErrors: Counter<'route' | 'kind'>;
  private readonly tokenLatency: Durations;
  /** Token acquisitions per route and source, in plain numbers (handed over at scrape). */
  private readonly tokenCounts = new Map<string, Map<string, number>>();

  constructor(deps: { tokens: TokenService; store: Store; readiness: Readiness }) {
    const r = this.registry;
    // Unprefixed (process_*, nodejs_*): the names stock Node.js dashboards and alerts query.
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: 'authward_build_info',
      help: 'Always 1: the running version and Node.js, as labels (join on them in queries).',
      labelNames: ['version', 'node'],
      registers: [r],
      aggregator: 'first',
    }).set({ version: VERSION, node: process.version }, 1);
    const counts = this.counts;
    new Counter({
      name: 'authward_http_requests_total',
      help: 'Requests answered, by route, status class (2xx, 4xx, ...) and client (api, browser, anonymous).',
      labelNames: ['route', 'status_class', 'client'],
      registers: [r],
      // Counted in plain numbers per request (5 status classes per client), handed over at scrape time.
      collect() {
        this.reset();
        for (const [route, byClass] of counts) {
          byClass.forEach((n, i) => {
            if (n === 0) return;
            const status_class = STATUS_CLASSES[i % 5] as string;
            this.inc({ route, status_class, client: CLIENTS[Math.floor(i / 5)] as string }, n);
          });
        }
      },
    });
    this.duration = new Durations(
      'authward_http_request_duration_seconds',
      'Time to the response, by route.',
      'route',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    r.registerMetric(this.duration as unknown as Metric);
    this.signIns = new Counter({
      name: 'authward_sign_ins_total',
      help: 'Sign-in callbacks, by result and failure reason.',
      labelNames: ['result', 'reason'],
      registers: [r],
    });
    this.interactions = new Counter({
      name: 'authward_interaction_required_total',
      help: 'Requests sent back to sign-in: consent, claims challenge, dead grant.',
      labelNames: ['route', 'kind'],
      registers: [r],
    });
    this.upstreamErrors = new Counter({
      name: 'authward_upstream_errors_total',
      help: 'Upstream or downstream failures, by route and kind (unavailable, timeout).',
      labelNames: ['route', 'kind'],
      registers: [r],
    });
    const tokenCounts = this.tokenCounts;
    new Counter({
      name: 'authward_token_acquisitions_total',
      help: 'Access tokens injected, by route and source (l1, store, refresh, app).',
      labelNames: ['route', 'source'],
      registers: [r],
      // Per request on token routes: counted in plain numbers, handed over at scrape time.
      collect() {
        this.reset();
        for (const [route, bySource] of tokenCounts) {
          for (const [source, n] of bySource) this.inc({ route, source }, n);
        }
      },
    });
    // Observed on every request that misses the L1 (a store read at least): a custom collector too.
    this.tokenLatency = new Durations(
      'authward_token_acquisition_duration_seconds',
      'Time to get an access token when it was not in the in-process cache, by source.',
      'source',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    r.registerMetric(this.tokenLatency as unknown as Metric);
    const { tokens, store, readiness } = deps;
    const fromCounters = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    // (Hits in process memory and in the store: authward_token_acquisitions_total{source="l1"|"store"}.)
    fromCounters(
      'authward_token_misses_total',
      'Accounts with no token cache entry.',
      () => tokens.metrics.misses,
    );
    fromCounters(
      'authward_token_refreshes_total',
      'Refresh-token grants sent to the provider.',
      () => tokens.metrics.refreshes,
    );
    fromCounters(
      'authward_token_refresh_failures_total',
      'Refreshes that failed.',
      () => tokens.metrics.refreshFailures,
    );
    fromCounters(
      'authward_token_lock_waits_total',
      'Waits for another replica’s refresh.',
      () => tokens.metrics.lockWaits,
    );
    fromCounters(
      'authward_token_store_errors_total',
      'Token store operations that failed.',
      () => store.metrics.errors,
    );
    new Gauge({
      name: 'authward_dependency_up',
      help: 'Shared dependencies as this replica sees them (1 up, 0 down).',
      labelNames: ['dependency'],
      registers: [r],
      aggregator: 'min', // with listen.workers: down when any worker sees it down
      collect() {
        for (const name of ['tokenStore', 'provider']) {
          this.set({ dependency: name }, readiness.dependency(name) === 'up' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'authward_ready',
      help: '1 when this replica is ready to serve.',
      registers: [r],
      aggregator: 'min',
      collect() {
        this.set(readiness.ready ? 1 : 0);
      },
    });
  }

  /** One request answered: called from onResponse with the route's name and who called. */
  request(route: string, client: Client, status: number, seconds: number): void {
    let count = this.counts.get(route);
    if (!count) {
      count = new Array<number>(5 * CLIENTS.length).fill(0);
      this.counts.set(route, count);
    }
    const i = CLIENT_INDEX[client] * 5 + Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    count[i] = (count[i] ?? 0) + 1;
    this.duration.observe(route, seconds);
  }

  signIn(result: 'ok' | 'failed', reason?: string): void {
    // A success has no reason: no `reason=""` series.
    this.signIns.inc(reason === undefined ? { result } : { result, reason });
  }

  interaction(route: string, kind: 'consent' | 'claims' | 'dead_grant' | 'sign_in'): void {
    this.interactions.inc({ route, kind });
  }

  upstreamError(route: string, kind: 'unavailable' | 'timeout'): void {
    this.upstreamErrors.inc({ route, kind });
  }

  token(route: string, source: string, seconds?: number): void {
    // Per request on token routes: two map lookups and an addition (prom-client hashes labels per inc).
    let bySource = this.tokenCounts.get(route);
    if (!bySource) {
      bySource = new Map();
      this.tokenCounts.set(route, bySource);
    }
    bySource.set(source, (bySource.get(source) ?? 0) + 1);
    if (seconds !== undefined) this.tokenLatency.observe(source, seconds);
  }
}

interface Series {
  /** Per bucket (the last one is +Inf), not cumulative. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A duration histogram by one label (the route; a token's source) as a prom-client custom collector:
 * observed with a bucket search and three additions. prom-client's own Histogram validates and hashes
 * the labels on every observation (more than a microsecond); this exports the same series at scrape.
 */
class Durations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byLabel = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(value: string, seconds: number): void {
    let s = this.byLabel.get(value);
    if (!s) {
      s = { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.byLabel.set(value, s);
    }
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += seconds;
    s.count++;
  }

  get() {
    const values: MetricValueWithName<string>[] = [];
    for (const [value, s] of this.byLabel) {
      const label = { [this.label]: value };
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...label, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...label, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: label, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: label, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.byLabel.clear();
  }
}
