// Runs one scenario: starts what it needs, signs users in, verifies the exact request, then measures it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { TestIdp } from '../../test/helpers/idp.js';
import type { TestRedis } from '../../test/helpers/redis.js';
import { type Authward, startAuthward } from './authward.js';
import { type MeasureDeps, type Measurement, measure } from './measure.js';
import { type Server, startBareProxy, startNginx } from './peers.js';
import { populateAccounts } from './populate.js';
import { cpuSeconds, rssKiB } from './proc-stats.js';
import type { Row } from './report.js';
import { INSTANCES, type InstanceName, type Peer, SPECS } from './scenarios.js';
import { signInMany, signInUser } from './sessions.js';
import { BENCH, type Settings } from './settings.js';
import type { Tools } from './tools.js';
import { expectBearer, expectBody, expectIdentity, expectRefused } from './verify.js';

export interface Session {
  login: string;
  cookie: string;
}

export interface RunContext {
  s: Settings;
  tools: Tools;
  /** The backend's exact body. */
  body: string;
  backend: Server;
  idp: TestIdp | undefined;
  redis: TestRedis | undefined;
  redisClient: Redis | undefined;
  say: (line: string) => void;
  /** Run-level facts for the JSON file (sign-in rate, Redis fill). */
  extra: Record<string, unknown>;
  servers: Partial<Record<Peer, Server>>;
  instances: Map<InstanceName, { aw: Authward; session: Session }>;
}

const LOGIN = 'bench-user';

async function instance(ctx: RunContext, name: InstanceName) {
  const have = ctx.instances.get(name);
  if (have) return have;
  if (!ctx.idp) throw new Error('no IdP');
  const aw = await startAuthward(ctx.s, INSTANCES[name], {
    idp: ctx.idp,
    backendUrl: ctx.backend.url,
    ...(ctx.redis ? { redisUrl: ctx.redis.url } : {}),
  });
  const cookie = await signInUser(ctx.idp, aw, LOGIN, ctx.body);
  ctx.say(`authward ${name} on ${aw.url} (pid ${aw.child.pid}); ${LOGIN} signed in`);
  const inst = { aw, session: { login: LOGIN, cookie } };
  ctx.instances.set(name, inst);
  return inst;
}

async function peer(ctx: RunContext, p: Peer): Promise<Server> {
  const have = ctx.servers[p];
  if (have) return have;
  const srv =
    p === 'nginx'
      ? await startNginx(ctx.s, ctx.tools.nginx as string, ctx.backend.port)
      : await startBareProxy(ctx.s, ctx.backend.url);
  ctx.servers[p] = srv;
  return srv;
}

export async function runScenario(ctx: RunContext, row: Row): Promise<Measurement> {
  const spec = SPECS[row.id];
  const deps: MeasureDeps = {
    settings: ctx.s,
    wrk: ctx.tools.wrk as string,
    reportScript: join(BENCH, 'lua', 'report.lua'),
    backendUrl: ctx.backend.url,
    backendPid: ctx.backend.child.pid,
  };
  if (spec.peer) {
    const srv = await peer(ctx, spec.peer);
    const url = `${srv.url}${spec.path}`;
    await expectBody(url, ctx.body);
    try {
      return await measure(deps, { url, ...(spec.peer === 'backend' ? {} : { proxyPid: srv.child.pid }) });
    } finally {
      if (spec.peer !== 'backend') {
        await srv.child.stop();
        delete ctx.servers[spec.peer];
      }
    }
  }

  const { aw, session } = await instance(ctx, spec.instance as InstanceName);
  const idp = ctx.idp as TestIdp;
  if (aw.variant.cache === 'redis' && ctx.redis && ctx.redisClient)
    deps.redis = { pid: ctx.redis.pid, client: ctx.redisClient };
  if (spec.populated && !ctx.extra.populate && ctx.redisClient) {
    ctx.say(`filling Redis with ${ctx.s.accounts} cloned accounts (partition + session record each)`);
    ctx.extra.populate = {
      accounts: ctx.s.accounts,
      ...(await populateAccounts(ctx.redisClient, aw, ctx.s.accounts)),
    };
    ctx.say(`filled: ${JSON.stringify(ctx.extra.populate)}`);
  }
  const url = `${aw.url}${spec.path}`;
  const cookie = { cookie: session.cookie };
  switch (spec.kind) {
    case 'public':
      await expectBody(url, ctx.body);
      return measure(deps, { url, proxyPid: aw.child.pid });
    case 'session':
      await expectBody(url, ctx.body, cookie);
      await expectRefused(url, session.cookie);
      await expectIdentity(aw.url, session.cookie, session.login);
      return measure(deps, { url, proxyPid: aw.child.pid, headers: [`Cookie: ${session.cookie}`] });
    case 'token':
      await expectBody(url, ctx.body, cookie);
      await expectRefused(url, session.cookie);
      await expectBearer(idp, `${aw.url}/api`, session.cookie, session.login);
      return measure(deps, { url, proxyPid: aw.child.pid, headers: [`Cookie: ${session.cookie}`] });
    default:
      return manySessions(ctx, row, aw, deps, url, spec.users?.(ctx.s) ?? ctx.s.users);
  }
}

async function manySessions(
  ctx: RunContext,
  row: Row,
  aw: Authward,
  deps: MeasureDeps,
  url: string,
  users: number,
) {
  const { s, say } = ctx;
  const idp = ctx.idp as TestIdp;
  say(
    `signing in up to ${users} users through the IdP, ${s.signInConcurrency} at a time (budget ${s.usersBudgetS} s)`,
  );
  const cpu0 = { driver: process.cpuUsage(), authward: cpuSeconds([aw.child.pid]).total };
  const many = await signInMany(
    idp,
    aw,
    {
      prefix: `bench-${row.id}-`,
      n: users,
      concurrency: s.signInConcurrency,
      budgetS: s.usersBudgetS,
      expectBody: ctx.body,
    },
    (done, sec) => say(`  ${done} signed in after ${sec.toFixed(0)} s`),
  );
  const rate = many.sessions.length / many.seconds;
  const signIns = {
    requested: users,
    signedIn: many.sessions.length,
    seconds: many.seconds,
    perSecond: rate,
    stoppedByBudget: many.stoppedByBudget,
    failures: many.failures,
    rssAfterMiB: rssKiB([aw.child.pid]) / 1024,
    // Where sign-in time goes: this process runs the IdP and the browsers; authward redeems the codes.
    cpuSeconds: {
      idpAndBrowsers:
        (process.cpuUsage().user + process.cpuUsage().system - cpu0.driver.user - cpu0.driver.system) / 1e6,
      authward: cpuSeconds([aw.child.pid]).total - cpu0.authward,
    },
  };
  ctx.extra[`signIns${row.id}`] = signIns;
  say(`sign-ins: ${JSON.stringify(signIns)}`);
  if (many.stoppedByBudget) {
    row.notes.push(
      `only ${many.sessions.length} of ${users} users signed in within USERS_BUDGET_S=${s.usersBudgetS}s (${rate.toFixed(1)}/s; all ${users} would take ~${(users / rate).toFixed(0)} s)`,
    );
  }
  if (many.sessions.length === 0) throw new Error('no user signed in');
  const file = join(s.runDir, `cookies-${row.id}.txt`);
  writeFileSync(file, `${many.sessions.map((x) => x.cookie).join('\n')}\n`, { mode: 0o600 });
  // A spread of sessions: each gets the body, and a few show their own user's token at the API.
  const step = Math.max(1, Math.floor(many.sessions.length / 8));
  for (let i = 0; i < many.sessions.length; i += step) {
    const one = many.sessions[i] as Session;
    await expectBody(url, ctx.body, { cookie: one.cookie });
    if (i % (step * 3) === 0) await expectBearer(idp, `${aw.url}/api`, one.cookie, one.login);
  }
  row.notes.push(`${many.sessions.length} distinct sessions, round-robin`);
  return measure(deps, {
    url,
    proxyPid: aw.child.pid,
    cookieScript: { script: join(BENCH, 'lua', 'cookies.lua'), args: [file, new URL(url).pathname] },
  });
}
