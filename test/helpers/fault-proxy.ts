// A TCP fault injector for tests: forwards 127.0.0.1:port to a target and can delay, stall, cut or refuse.
//
// For faults no real tool gives us on loopback without root (tc/netem, iptables): put it between authward
// and a real dependency (the upstream, redis-server) and turn a fault on mid-test. Bytes are forwarded
// unchanged and in order; every fault applies to connections already open and to new ones.
// - latency: each chunk (and the end of the stream) is held `ms` before it is written on, each direction;
// - stall: nothing moves (no bytes, no FIN, no close), both directions, sockets paused so senders feel
//   backpressure, as with a black-holed peer; resume() lets everything held through;
// - cutAll: every open connection is reset on both sides (RST, not FIN);
// - refuse: the listener closes (new connections get ECONNREFUSED; open ones live on) until accept().
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface FaultProxyOptions {
  /** Where connections are forwarded. */
  target: { host?: string; port: number };
  /** Listen port (default 0: a free one). */
  port?: number;
}

export interface FaultProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Client-side connections open right now. */
  readonly open: number;
  /** Client-side connections accepted since start. */
  readonly accepted: number;
  /** Client-side connections that ended or were destroyed by the client (not by a fault). */
  readonly closedByClient: number;
  /** Bytes forwarded client → target and target → client so far. */
  readonly bytes: { up: number; down: number };
  /** One-way delay in ms added to every chunk in each direction (0: none). */
  setLatency(ms: number): void;
  /** Stop forwarding in both directions until resume(). */
  stall(): void;
  resume(): void;
  /** Reset every open connection, both sides. */
  cutAll(): void;
  /** Stop accepting: new connections are refused until accept(). */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  /** Cut everything and close the listener. Idempotent. */
  close(): Promise<void>;
}

type Item = { due: number; chunk: Buffer } | { due: number; end: true };

/** The fault settings every lane reads live. */
interface LaneSettings {
  readonly latency: number;
  readonly stalled: boolean;
}

/** One direction of one connection: a delay queue with backpressure and stall. */
class Lane {
  private readonly queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly settings: LaneSettings,
    private readonly count: (n: number) => void,
  ) {
    from.on('data', (chunk: Buffer) => this.push({ due: Date.now() + settings.latency, chunk }));
    from.on('end', () => this.push({ due: Date.now() + settings.latency, end: true }));
    to.on('drain', () => {
      if (!settings.stalled) from.resume();
    });
  }

  private push(item: Item): void {
    this.queue.push(item);
    this.flush();
  }

  /** Writes every item that is due, in order; re-arms the timer for the next one. */
  flush(): void {
    this.stop();
    if (this.settings.stalled || this.ended) return;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0] as Item;
      if (head.due > now) {
        this.timer = setTimeout(() => this.flush(), head.due - now);
        return;
      }
      this.queue.shift();
      if (this.to.destroyed) return;
      if ('end' in head) {
        this.ended = true;
        this.to.end();
        return;
      }
      this.count(head.chunk.length);
      if (!this.to.write(head.chunk)) this.from.pause();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

interface Pair {
  client: Socket;
  server: Socket;
  lanes: Lane[];
  /** Set when a fault (cutAll, close) ended it, so it is not counted as closed by the client. */
  cut: boolean;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = opts.target.host ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  const state = { latency: 0, stalled: false };
  const bytes = { up: 0, down: 0 };
  // Closes that happened while stalled: carried out on resume(), as a black hole would deliver them late.
  const heldCloses: (() => void)[] = [];
  let accepted = 0;
  let closedByClient = 0;
  let listening = false;
  let closed = false;

  const destroyBoth = (p: Pair) => {
    p.client.destroy();
    p.server.destroy();
  };

  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    accepted++;
    const upstream = tcpConnect({ host: targetHost, port: opts.target.port, allowHalfOpen: true });
    upstream.pause();
    const pair: Pair = { client, server: upstream, lanes: [], cut: false };
    pairs.add(pair);
    const teardown = (byClient: boolean) => {
      if (!pairs.delete(pair)) return;
      if (byClient && !pair.cut) closedByClient++;
      for (const lane of pair.lanes) lane.stop();
      if (state.stalled) heldCloses.push(() => destroyBoth(pair));
      else destroyBoth(pair);
    };
    client.on('error', () => teardown(true));
    client.on('close', () => teardown(true));
    upstream.on('error', () => teardown(false));
    upstream.on('close', () => teardown(false));
    pair.lanes.push(
      new Lane(client, upstream, state, (n) => {
        bytes.up += n;
      }),
      new Lane(upstream, client, state, (n) => {
        bytes.down += n;
      }),
    );
    upstream.once('connect', () => {
      if (state.stalled) return;
      client.resume();
      upstream.resume();
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        listening = true;
        resolve();
      });
    });
  await listen(opts.port ?? 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');
  const port = address.port;

  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });

  const cutEvery = (reset: boolean) => {
    for (const p of [...pairs]) {
      p.cut = true;
      pairs.delete(p);
      for (const lane of p.lanes) lane.stop();
      if (reset) {
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
      } else destroyBoth(p);
    }
  };

  return {
    host: '127.0.0.1',
    port,
    get open() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    get closedByClient() {
      return closedByClient;
    },
    bytes,
    setLatency(ms) {
      state.latency = ms;
    },
    stall() {
      state.stalled = true;
      for (const p of pairs) {
        p.client.pause();
        p.server.pause();
        for (const lane of p.lanes) lane.stop();
      }
    },
    resume() {
      state.stalled = false;
      for (const close of heldCloses.splice(0)) close();
      for (const p of pairs) {
        p.client.resume();
        p.server.resume();
        for (const lane of p.lanes) lane.flush();
      }
    },
    cutAll: () => cutEvery(true),
    refuse: stopListening,
    async accept() {
      if (closed) throw new Error('fault proxy: accept() after close()');
      if (!listening) await listen(port);
    },
    async close() {
      if (closed) return;
      closed = true;
      state.stalled = false;
      for (const close of heldCloses.splice(0)) close();
      cutEvery(false);
      await stopListening();
    },
  };
}
