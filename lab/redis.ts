// Launches throwaway real redis-server processes (single node or cluster) on free local ports for tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const CLUSTER_TIMEOUT_MS = 15_000;
const SLOTS = 16_384;

export interface StartRedisOptions {
  /** Enables `requirepass`; clients from `client()` authenticate with it. */
  password?: string;
  /** Fixed port; by default a free one is picked. */
  port?: number;
  /** Extra redis-server arguments, e.g. `['--maxmemory', '1mb']`. */
  args?: string[];
}

export interface TestRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:port` (no credentials). */
  readonly url: string;
  /** Pid of the current redis-server process (changes on restart). */
  readonly pid: number;
  /** False once the process has exited (after kill() or stop()), true again after restart(). */
  readonly running: boolean;
  /** A new ioredis client for assertions; closed by stop(). */
  client(options?: RedisOptions): Redis;
  /** SIGTERM and wait for exit (thaws first), close tracked clients, remove the data dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; clients stay open (they will try to reconnect). */
  kill(): Promise<void>;
  /** Start again on the same port (stopping the current process first if any). Data is lost. */
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

export interface StartRedisClusterOptions {
  /** Number of masters. Default 3. */
  masters?: number;
  /** Replicas per master (each can take over when its master fails). Default 0. */
  replicas?: number;
  /** cluster-node-timeout: how long a node may be unreachable before it counts as failed. Default 2000. */
  nodeTimeoutMs?: number;
}

export interface TestRedisCluster {
  readonly nodes: { host: string; port: number }[];
  /** The underlying servers, one per node (masters first, then replicas), e.g. to kill() or freeze() one. */
  readonly servers: TestRedis[];
  /** A new ioredis Cluster client; closed by stop(). */
  client(options?: ClusterOptions): Cluster;
  /** The server currently serving `key`'s slot as master (asked of a live node, so right after failovers). */
  masterFor(key: string): Promise<TestRedis>;
  /**
   * Resolves once every live node reports cluster_state:ok and a live master for `key`'s slot other
   * than `formerMaster`, i.e. a replica has taken over (throws after 15 s).
   */
  failedOver(key: string, formerMaster: TestRedis): Promise<TestRedis>;
  /** Stops every node and closes tracked clients. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Locating redis-server. Tests that need Redis must fail loudly when it is missing, never skip.

let redisServerBin: string | undefined;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this PATH entry.
    }
  }
  return undefined;
}

function requireRedisServer(): string {
  redisServerBin ??= findOnPath('redis-server');
  if (redisServerBin === undefined) {
    throw new Error(
      'redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server)',
    );
  }
  return redisServerBin;
}

// ---------------------------------------------------------------------------------------------
// Leftover protection. Normal exits are covered by process.on('exit'); deaths that skip it
// (tap's SIGALRM timeout kill, SIGKILL, uncaught signals) are covered by a tiny watchdog process
// that SIGKILLs our redis-servers when its stdin pipe from us closes.

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let watchdog: ChildProcess | undefined;

const WATCHDOG_SOURCE = `
const pids = new Set(); const dirs = new Set(); let buf = '';
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
const cleanup = () => {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  for (const d of dirs) { try { require('node:fs').rmSync(d, { recursive: true, force: true }); } catch {} }
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const sp = line.indexOf(' '); const op = line.slice(0, sp); const arg = line.slice(sp + 1);
    if (op === '+pid') pids.add(Number(arg)); else if (op === '-pid') pids.delete(Number(arg));
    else if (op === '+dir') dirs.add(arg); else if (op === '-dir') dirs.delete(arg);
  }
});
process.stdin.on('end', cleanup); process.stdin.on('error', cleanup);
`;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'] });
    // Neither the watchdog nor its pipe may keep the test process alive.
    watchdog.unref();
    const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
    stdin?.unref?.();
    watchdog.stdin?.on('error', () => {});
  }
  watchdog.stdin?.write(`${line}\n`);
}

process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authward-redis-'));
  liveDirs.add(dir);
  tellWatchdog(`+dir ${dir}`);
  return dir;
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
  tellWatchdog(`-dir ${dir}`);
}

// ---------------------------------------------------------------------------------------------
// A minimal RESP client: one connection per command, used for readiness probes and cluster setup,
// so those don't depend on ioredis reconnect/retry behaviour.

type Reply = string | number | null | Error | Reply[];

function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '$': {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (item === undefined) return undefined;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Sends one command (after AUTH when a password is given) and resolves its reply; error replies reject. */
function rawCommand(port: number, args: string[], password?: string, timeoutMs = 1_000): Promise<Reply> {
  const commands = password === undefined ? [args] : [['AUTH', password], args];
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let buf = Buffer.alloc(0);
    const replies: Reply[] = [];
    const finish = (err: Error | undefined, reply?: Reply) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(reply ?? null);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`redis ${args[0]} on port ${port} timed out`)));
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let parsed = parseReply(buf, 0);
      while (parsed !== undefined) {
        replies.push(parsed[0]);
        buf = buf.subarray(parsed[1]);
        parsed = buf.length > 0 ? parseReply(buf, 0) : undefined;
      }
      if (replies.length < commands.length) return;
      const failed = replies.find((r): r is Error => r instanceof Error);
      finish(failed, replies[replies.length - 1]);
    });
    socket.on('close', () => finish(new Error(`redis connection on port ${port} closed early`)));
  });
}

async function serverPid(port: number, password?: string): Promise<number> {
  const info = String(await rawCommand(port, ['INFO', 'server'], password, 500));
  return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
}

// ---------------------------------------------------------------------------------------------
// One redis-server process slot: a fixed port and data dir, restartable.

class PortInUseError extends Error {}

interface Launch {
  child: ChildProcess;
  exited: Promise<void>;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

async function launch(port: number, dir: string, args: string[], password?: string): Promise<Launch> {
  const bin = requireRedisServer();
  const logPath = join(dir, `redis-${port}.log`);
  // Output goes to a file, not a pipe: a pipe would be a handle keeping the test process alive,
  // and the file still explains startup failures.
  const logFd = openSync(logPath, 'a');
  const argv = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir];
  if (password !== undefined) argv.push('--requirepass', password);
  argv.push(...args);
  let child: ChildProcess;
  try {
    child = spawn(bin, argv, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  // A server a test forgot to stop must not keep the process alive; stop()/kill() re-ref while waiting.
  child.unref();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      liveChildren.delete(child);
      if (child.pid !== undefined) tellWatchdog(`-pid ${child.pid}`);
      resolve();
    });
  });
  // e.g. EACCES: 'exit' may never follow, so this is checked separately while waiting.
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  liveChildren.add(child);
  if (child.pid !== undefined) tellWatchdog(`+pid ${child.pid}`);

  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      liveChildren.delete(child);
      throw new Error(`could not start redis-server: ${spawnError.message}`);
    }
    if (!isRunning(child)) break;
    try {
      const reply = await rawCommand(port, ['PING'], password, 500);
      // Make sure the answer came from our process and not from another server already on a fixed port.
      if (reply === 'PONG' && (await serverPid(port, password)) === child.pid) return { child, exited };
    } catch (err) {
      // Refused or LOADING while the server boots; keep polling.
      lastError = err;
    }
    await sleep(20);
  }
  if (isRunning(child)) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(
      `redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms ` +
        `(${String(lastError)}):\n${readLog(logPath)}`,
    );
  }
  await exited;
  const log = readLog(logPath);
  const message = `redis-server on port ${port} exited during startup (${child.exitCode ?? child.signalCode}):\n${log}`;
  throw /address already in use/i.test(log) ? new PortInUseError(message) : new Error(message);
}

async function waitExit(launched: Launch, signal: NodeJS.Signals): Promise<void> {
  const { child, exited } = launched;
  if (!isRunning(child)) return exited;
  // Keep the event loop alive until the exit event arrives.
  child.ref();
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Starts redis-server; with no fixed port, retries on another port if it was taken meanwhile. */
async function startServer(
  opts: StartRedisOptions,
  argsFor: (port: number, dir: string) => Promise<string[]> = async () => [],
): Promise<TestRedis> {
  requireRedisServer();
  const extra = opts.args ?? [];
  let dir = makeDir();
  let port = opts.port ?? 0;
  let launched: Launch | undefined;
  for (let attempt = 1; launched === undefined; attempt++) {
    if (opts.port === undefined) port = await freePort();
    try {
      launched = await launch(port, dir, [...(await argsFor(port, dir)), ...extra], opts.password);
    } catch (err) {
      if (!(err instanceof PortInUseError) || opts.port !== undefined || attempt >= 5) {
        removeDir(dir);
        throw err;
      }
    }
  }
  const fixedPort = port;
  const clients = new Set<Redis>();
  let current: Launch = launched;
  let frozen = false;
  let stopping: Promise<void> | undefined;
  let dirRemoved = false;

  const terminate = async (signal: NodeJS.Signals) => {
    if (frozen && isRunning(current.child)) current.child.kill('SIGCONT');
    frozen = false;
    await waitExit(current, signal);
  };

  const server: TestRedis = {
    host: HOST,
    port: fixedPort,
    url: `redis://${HOST}:${fixedPort}`,
    get pid() {
      return current.child.pid ?? -1;
    },
    get running() {
      return isRunning(current.child);
    },
    client(options?: RedisOptions): Redis {
      const client = new Redis({
        host: HOST,
        port: fixedPort,
        ...(opts.password === undefined ? {} : { password: opts.password }),
        // Reconnect quickly so tests of kill()/restart() don't wait on ioredis' 2 s backoff.
        retryStrategy: (times: number) => Math.min(times * 20, 200),
        ...options,
      });
      // Connection errors are expected in outage tests; without a listener ioredis logs them loudly.
      client.on('error', () => {});
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        for (const client of clients) client.disconnect();
        clients.clear();
        await terminate('SIGTERM');
        removeDir(dir);
        dirRemoved = true;
      })();
      return stopping;
    },
    async kill(): Promise<void> {
      await terminate('SIGKILL');
    },
    async restart(): Promise<void> {
      await terminate('SIGTERM');
      if (dirRemoved) {
        dir = makeDir();
        dirRemoved = false;
      }
      current = await launch(fixedPort, dir, [...(await argsFor(fixedPort, dir)), ...extra], opts.password);
      // A restarted server can be stopped again.
      stopping = undefined;
    },
    freeze(): void {
      if (!isRunning(current.child)) throw new Error('freeze(): redis-server is not running');
      current.child.kill('SIGSTOP');
      frozen = true;
    },
    thaw(): void {
      if (frozen && isRunning(current.child)) current.child.kill('SIGCONT');
      frozen = false;
    },
  };
  return server;
}

/** Starts a standalone redis-server on 127.0.0.1 (a free port unless `port` is given). */
export function startRedis(opts: StartRedisOptions = {}): Promise<TestRedis> {
  return startServer(opts);
}

// ---------------------------------------------------------------------------------------------
// Cluster: N masters, slots assigned and nodes introduced by hand (no redis-cli needed).

function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Starts a Redis Cluster of `masters` (default 3) masters, each with `replicas` (default 0) replicas,
 * ready (cluster_state:ok everywhere, every replica linked to its master).
 */
export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  requireRedisServer();
  const masters = opts.masters ?? 3;
  const perMaster = opts.replicas ?? 0;
  if (!Number.isInteger(masters) || masters < 1) throw new Error(`masters must be >= 1, got ${masters}`);
  if (!Number.isInteger(perMaster) || perMaster < 0) {
    throw new Error(`replicas must be >= 0, got ${perMaster}`);
  }
  const total = masters * (1 + perMaster);

  // The bus port is normally port + 10000, which overflows for high ephemeral ports; pick it explicitly.
  const busPorts = new Map<number, number>();
  const argsFor = async (port: number, dir: string) => {
    let bus = busPorts.get(port);
    if (bus === undefined) {
      bus = await freePort();
      busPorts.set(port, bus);
    }
    return [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      String(opts.nodeTimeoutMs ?? 2000),
      '--cluster-port',
      String(bus),
    ];
  };

  const started = await Promise.allSettled(Array.from({ length: total }, () => startServer({}, argsFor)));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const clients = new Set<Cluster>();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const client of clients) client.disconnect();
      clients.clear();
      await Promise.all(servers.map((s) => s.stop()));
    })();
    return stopping;
  };

  try {
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    // Distinct config epochs up front (as redis-cli does) avoid a slow epoch-collision resolution.
    await Promise.all(
      servers.map(async (s, i) => {
        await rawCommand(s.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
        if (i >= masters) return; // a replica: no slots of its own
        const first = Math.floor((i * SLOTS) / masters);
        const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
        await rawCommand(s.port, ['CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)]);
      }),
    );
    // Introduce every pair directly: waiting for gossip to spread node addresses takes seconds.
    await Promise.all(
      servers.flatMap((a, i) =>
        servers
          .slice(i + 1)
          .map((b) =>
            rawCommand(a.port, ['CLUSTER', 'MEET', HOST, String(b.port), String(busPorts.get(b.port))]),
          ),
      ),
    );

    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    let lastInfo: Record<string, string> = {};
    // Replica i follows master i % masters, once it knows that master (REPLICATE refuses unknown nodes).
    const replicated = new Set<number>();
    for (;;) {
      for (let i = masters; i < total; i++) {
        if (replicated.has(i)) continue;
        const master = servers[i % masters] as TestRedis;
        const replica = servers[i] as TestRedis;
        try {
          const id = String(await rawCommand(master.port, ['CLUSTER', 'MYID']));
          await rawCommand(replica.port, ['CLUSTER', 'REPLICATE', id]);
          replicated.add(i);
        } catch {
          // The replica has not heard of its master yet: MEET is still spreading.
        }
      }
      // A node slow to answer (a busy machine, a replica loading its first sync) is just not ready yet.
      const infos = await Promise.all(
        servers.map(async (s, i) => {
          try {
            const info = parseInfo(String(await rawCommand(s.port, ['CLUSTER', 'INFO'])));
            if (i < masters) return info;
            const repl = parseInfo(String(await rawCommand(s.port, ['INFO', 'replication'])));
            return { ...info, ...repl };
          } catch (err) {
            return { port: String(s.port), error: String(err) };
          }
        }),
      );
      const notReady = infos.find(
        (info, i) =>
          info.cluster_state !== 'ok' ||
          info.cluster_slots_ok !== String(SLOTS) ||
          info.cluster_known_nodes !== String(total) ||
          (i >= masters && info.master_link_status !== 'up'),
      );
      if (notReady === undefined && replicated.size === total - masters) break;
      lastInfo = notReady ?? { replicated: String(replicated.size) };
      if (Date.now() > deadline) {
        throw new Error(
          `redis cluster not ready after ${CLUSTER_TIMEOUT_MS} ms: ${JSON.stringify(lastInfo)}`,
        );
      }
      await sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const nodes = servers.map((s) => ({ host: HOST, port: s.port }));
  const alive = () => servers.filter((s) => s.running);
  /** The master port of `key`'s slot, as `via` sees it (undefined when it knows no live owner). */
  const ownerPort = async (via: TestRedis, key: string): Promise<number | undefined> => {
    const slot = Number(await rawCommand(via.port, ['CLUSTER', 'KEYSLOT', key]));
    const ranges = (await rawCommand(via.port, ['CLUSTER', 'SLOTS'])) as Reply[][];
    const range = ranges.find((r) => Number(r[0]) <= slot && slot <= Number(r[1]));
    return range === undefined ? undefined : Number((range[2] as Reply[])[1]);
  };
  const serverOn = (port: number | undefined) => servers.find((s) => s.port === port);
  return {
    nodes,
    servers,
    async masterFor(key: string): Promise<TestRedis> {
      const via = alive()[0];
      const master = via && serverOn(await ownerPort(via, key));
      if (master === undefined) throw new Error(`no master known for ${JSON.stringify(key)}`);
      return master;
    },
    async failedOver(key: string, formerMaster: TestRedis): Promise<TestRedis> {
      const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
      for (;;) {
        const live = alive().filter((s) => s !== formerMaster);
        const owners = await Promise.all(
          live.map(async (s) => {
            try {
              const info = parseInfo(String(await rawCommand(s.port, ['CLUSTER', 'INFO'])));
              return info.cluster_state === 'ok' ? await ownerPort(s, key) : undefined;
            } catch {
              return undefined; // slow to answer: asked again
            }
          }),
        );
        const owner = serverOn(owners[0]);
        if (owner && owner !== formerMaster && owners.every((p) => p === owner.port)) return owner;
        if (Date.now() > deadline) throw new Error(`no failover for ${JSON.stringify(key)} in time`);
        await sleep(50);
      }
    },
    client(options?: ClusterOptions): Cluster {
      const client = new Cluster(nodes, {
        clusterRetryStrategy: (times: number) => Math.min(times * 20, 200),
        ...options,
      });
      client.on('error', () => {});
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    stop,
  };
}
