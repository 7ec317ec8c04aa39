// Prepares one scenario for the rounds: starts what it needs, signs users in, fills Redis, verifies the exact request.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { TestIdp } from '../../lab/idp.js';
import type { ApiGrants } from '../../lab/idp-grants.js';
import { freePort } from '../../lab/ports.js';
import type { TestRedis } from '../../lab/redis.js';
import { heapFlags } from '../../src/heap.js';
import { userAccessToken } from './api-client.js';
import { type Authward, FWD_ROUTE, startAuthward } from './authward.js';
import type { LoadTarget, MeasureDeps } from './measure.js';
import { type Server, startBareProxy, startForwardAuthNginx, startNginx } from './peers.js';
import { populateAccounts } from './populate.js';
import { cpuSeconds, rssKiB } from './proc-stats.js';
import type { Row } from './report.js';
import { INSTANCES, type InstanceName, type Peer, SPECS } from './scenarios.js';
import { signInMany, signInUser } from './sessions.js';
import { BENCH, type Settings } from './settings.js';
import type { Tools } from './tools.js';
import {
  expectApiIdentity,
  expectBearer,
  expectBearerRefused,
  expectBody,
  expectForwardedIdentity,
  expectIdentity,
  expectOnBehalfOf,
  expectRefused,
} from './verify.js';

export interface Session {
  login: string;
  cookie: string;
}

export interface RedisServer {
  server: TestRedis;
  client: Redis;
}

export interface RunContext {
  s: Settings;
  tools: Tools;
  /** The backend's exact body. */
  body: string;
  backend: Server;
  idp: TestIdp | undefined;
  /** The IdP's API-client grants (on-behalf-of, token exchange), for 11b's checks. */
  grants?: ApiGrants;
  /** LOGIN's access token for the app's own API (11a, 11b), got once per run. Never written anywhere. */
  apiToken?: Promise<string>;
  redis: Partial<Record<'main' | 'full', RedisServer>>;
  say: (line: string) => void;
  /** Run-level facts for the JSON file (sign-in rates, Redis fill, idle RSS). */
  extra: Record<string, unknown>;
  servers: Partial<Record<Peer, Server>>;
  instances: Map<InstanceName, { aw: Authward; session: Session; front?: Server }>;
  /** Seconds the rounds will take (to size the sign-in budget). */
  measureSeconds: number;
}

/** USERS_BUDGET_S, or what the run budget leaves after the time so far and the rounds to come (15..300 s). */
function signInBudget(ctx: RunContext, stillToPrepare: number): number {
  if (ctx.s.usersBudgetS !== undefined) return ctx.s.usersBudgetS;
  const left = ctx.s.runBudgetS - process.uptime() - ctx.measureSeconds - 10; // 10 s: the report, stopping
  return Math.round(Math.min(300, Math.max(15, left / stillToPrepare)));
}

/** A scenario ready to load: what wrk requests, and a cheap check to repeat before each round. */
export interface Prepared {
  row: Row;
  deps: MeasureDeps;
  target: LoadTarget;
  recheck: () => Promise<void>;
}

const LOGIN = 'bench-user';

async function instance(ctx: RunContext, name: InstanceName) {
  const have = ctx.instances.get(name);
  if (have) return have;
  if (!ctx.idp) throw new Error('no IdP');
  const spec = INSTANCES[name];
  const redis = spec.redis ? ctx.redis[spec.redis] : undefined;
  if (spec.redis && !redis) throw new Error(`${name}: Redis did not start`);
  // forwardAuth: nginx's port first, it is authward's publicUrl; the user signs in through nginx.
  const frontPort = spec.forwardAuth ? await freePort() : undefined;
  const aw = await startAuthward(
    ctx.s,
    spec,
    {
      idp: ctx.idp,
      backendUrl: ctx.backend.url,
      ...(redis ? { redisUrl: redis.server.url } : {}),
      ...(frontPort ? { publicUrl: `http://127.0.0.1:${frontPort}` } : {}),
    },
    spec.heapLimitMiB ? heapFlags(spec.heapLimitMiB * 2 ** 20, '') : [],
  );
  let front: Server | undefined;
  if (frontPort) {
    if (!ctx.tools.nginx) throw new Error('nginx not installed');
    front = await startForwardAuthNginx(ctx.s, ctx.tools.nginx, frontPort, {
      authward: new URL(aw.url).host,
      backend: new URL(ctx.backend.url).host,
    });
    ctx.servers['nginx-fwd'] = front;
  }
  const idle = rssKiB([aw.child.pid]) / 1024;
  const cookie = await signInUser(ctx.idp, front ? { ...aw, url: front.url } : aw, LOGIN, ctx.body);
  ctx.say(
    `authward ${name} on ${aw.url} (pid ${aw.child.pid}, ${idle.toFixed(0)} MiB idle)${front ? ` behind nginx ${front.url}` : ''}; ${LOGIN} signed in`,
  );
  ctx.extra[`rssIdleMiB-${name}`] = idle;
  const inst = { aw, session: { login: LOGIN, cookie }, ...(front ? { front } : {}) };
  ctx.instances.set(name, inst);
  if (spec.redis === 'full' && redis) {
    ctx.say(`filling the second Redis with ${ctx.s.accounts} accounts cloned from ${LOGIN}'s entries`);
    const filled = await populateAccounts(redis.client, aw, ctx.s.accounts);
    ctx.extra.populate = { accounts: ctx.s.accounts, ...filled };
    ctx.say(`filled in ${filled.seconds.toFixed(1)} s: Redis uses ${filled.usedMemoryMiB.toFixed(0)} MiB`);
  }
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

export async function prepare(ctx: RunContext, row: Row): Promise<Prepared> {
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
    const recheck = () => expectBody(url, ctx.body);
    await recheck();
    return {
      row,
      deps,
      recheck,
      target: { url, ...(spec.peer === 'backend' ? {} : { proxyPid: srv.child.pid }) },
    };
  }

  const name = spec.instance as InstanceName;
  const { aw, session, front } = await instance(ctx, name);
  const idp = ctx.idp as TestIdp;
  const redis = INSTANCES[name].redis ? ctx.redis[INSTANCES[name].redis ?? 'main'] : undefined;
  if (redis) deps.redis = { pid: redis.server.pid, client: redis.client };
  const url = `${aw.url}${spec.path}`;
  const cookie = { cookie: session.cookie };
  const headers = [`Cookie: ${session.cookie}`];
  const proxyPid = aw.child.pid;
  switch (spec.kind) {
    case 'public': {
      const recheck = () => expectBody(url, ctx.body);
      await recheck();
      return { row, deps, recheck, target: { url, proxyPid } };
    }
    case 'session': {
      const recheck = () => expectBody(url, ctx.body, cookie);
      await recheck();
      await expectRefused(url, session.cookie);
      await expectIdentity(aw.url, session.cookie, session.login);
      return { row, deps, recheck, target: { url, proxyPid, headers } };
    }
    case 'token': {
      const recheck = () => expectBody(url, ctx.body, cookie);
      await recheck();
      await expectRefused(url, session.cookie);
      await expectBearer(idp, `${aw.url}/api`, session.cookie, session.login);
      return { row, deps, recheck, target: { url, proxyPid, headers } };
    }
    case 'api':
    case 'obo': {
      ctx.apiToken ??= userAccessToken(idp, LOGIN);
      const token = await ctx.apiToken;
      const bearer = { authorization: `Bearer ${token}` };
      const recheck = () => expectBody(url, ctx.body, bearer);
      await recheck();
      await expectBearerRefused(url, token);
      if (spec.kind === 'api') await expectApiIdentity(aw.url, token, LOGIN);
      else {
        const grants = ctx.grants;
        if (!grants) throw new Error('the IdP has no on-behalf-of grants');
        await expectOnBehalfOf(
          idp,
          () => grants.served.obo + grants.served.exchange,
          `${aw.url}/api`,
          token,
          LOGIN,
        );
      }
      return { row, deps, recheck, target: { url, proxyPid, headers: [`Authorization: Bearer ${token}`] } };
    }
    case 'forward':
    case 'forward-token': {
      if (!front) throw new Error(`${name}: no nginx in front`);
      const through = `${front.url}${spec.path}`;
      const recheck = () => expectBody(through, ctx.body, cookie);
      await recheck();
      await expectRefused(through, session.cookie);
      if (spec.kind === 'forward') await expectForwardedIdentity(front.url, session.cookie, session.login);
      else await expectBearer(idp, `${front.url}${FWD_ROUTE}`, session.cookie, session.login);
      // CPU µs/req is authward's (the verify endpoint); nginx's is the ingress column.
      return {
        row,
        deps,
        recheck,
        target: { url: through, proxyPid, frontPid: front.child.pid, headers },
      };
    }
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
): Promise<Prepared> {
  const { s, say } = ctx;
  const idp = ctx.idp as TestIdp;
  // 8u comes before 10 in the plan: it takes a share, 10 the rest.
  const budgetS = signInBudget(ctx, row.id === '8u' && s.scenarios.includes('10') ? 2 : 1);
  say(`${row.id}: signing in up to ${users} users, ${s.signInConcurrency} at a time (budget ${budgetS} s)`);
  const cpu0 = { driver: process.cpuUsage(), authward: cpuSeconds([aw.child.pid]).total };
  const many = await signInMany(
    idp,
    aw,
    {
      prefix: `bench-${row.id}-`,
      n: users,
      concurrency: s.signInConcurrency,
      threads: s.signInThreads,
      budgetS,
      expectBody: ctx.body,
    },
    (done, sec) => say(`  ${done} signed in after ${sec.toFixed(0)} s`),
  );
  const driver = process.cpuUsage(cpu0.driver);
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
    cpuMsPerSignIn: {
      idpAndBrowsers: (driver.user + driver.system) / 1e3 / Math.max(1, many.sessions.length),
      authward:
        ((cpuSeconds([aw.child.pid]).total - cpu0.authward) * 1e3) / Math.max(1, many.sessions.length),
    },
  };
  ctx.extra[`signIns-${row.id}`] = signIns;
  say(`${row.id}: ${JSON.stringify(signIns)}`);
  if (many.stoppedByBudget) {
    row.notes.push(
      `only ${many.sessions.length} of ${users} users signed in within the ${budgetS} s budget (${rate.toFixed(1)}/s; all ${users} would take ~${(users / rate).toFixed(0)} s)`,
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
  const first = many.sessions[0] as Session;
  return {
    row,
    deps,
    recheck: () => expectBody(url, ctx.body, { cookie: first.cookie }),
    target: {
      url,
      proxyPid: aw.child.pid,
      cookieScript: { script: join(BENCH, 'lua', 'cookies.lua'), args: [file, new URL(url).pathname] },
    },
  };
}
