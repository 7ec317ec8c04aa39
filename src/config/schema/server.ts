// Sections about the process itself: where it listens, its probes, its logs and its metrics.
import { Type } from '@sinclair/typebox';
import { Path, strict } from './fields.js';

export const Listen = strict(
  {
    host: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address to listen on.' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Port to listen on.' }),
    workers: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 64,
      description:
        'Processes sharing the port (node:cluster), one core each; above 1 needs tokenCache.type redis.',
    }),
  },
  'Where authward accepts client connections.',
);

export const Health = strict(
  {
    livenessPath: Path('Liveness probe path (process alive).', '/healthz'),
    readinessPath: Path('Readiness probe path (config loaded, own start-up done).', '/readyz'),
  },
  'Health probe paths, served on the main port. Change them if the app owns these paths.',
);

export const Logging = strict(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level.' },
    ),
    pretty: Type.Boolean({ default: false, description: 'Human-readable logs (when stdout is a TTY).' }),
    levelNames: Type.Boolean({
      default: false,
      description:
        'Write the level as its name (`"level":"info"`) instead of pino\'s number (`30`), for Loki, ELK and other collectors that do not map the numbers. Off by default: pino tools (pino-pretty, pino transports) and existing queries read the numbers.',
    }),
    timestamp: Type.Union([Type.Literal('epoch'), Type.Literal('iso')], {
      default: 'epoch',
      description:
        "`time` as epoch milliseconds (`epoch`, pino's default and the cheapest) or an ISO 8601 UTC string (`iso`, e.g. `2026-01-31T12:00:00.000Z`) for collectors that parse dates, not numbers.",
    }),
  },
  'JSON logs on stdout.',
);

export const Metrics = strict(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve Prometheus metrics.' }),
    host: Type.String({ default: '0.0.0.0', description: 'Metrics listen address.' }),
    port: Type.Integer({
      default: 9464,
      minimum: 0,
      maximum: 65535,
      description: 'Metrics port (separate).',
    }),
    path: Path('Metrics path.', '/metrics'),
  },
  'Prometheus metrics on a separate port.',
);
