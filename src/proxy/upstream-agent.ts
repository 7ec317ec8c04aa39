// The HTTP client of one proxy registration: connection options, timeouts, and no work for clients who left.
//
// reply-from neither gives undici a signal nor watches the client while it waits for the upstream's
// headers: a client that gives up (a closed tab, a caller's own timeout) would leave its request running
// upstream until the upstream answers or upstream.timeout passes, and a retrying client multiplies that.
// So the request carries its client's socket (on a symbol key of its headers, never sent) and is aborted
// when that socket closes first. Once the headers are in, the body is piped to the client, and reply-from
// and fastify destroy it when the client goes. One abort signal per client connection, not per request:
// a keep-alive connection carries one request at a time, and a controller plus its listeners per request
// cost more than the rest of this file together.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { type Dispatcher, Pool } from 'undici';
import { ClientGoneError } from '../errors.js';

const CLIENT_SOCKET = Symbol('authward.clientSocket');

type Headers = IncomingHttpHeaders & { [CLIENT_SOCKET]?: Socket };

/** Marks forwarded headers with the client's socket (reply-from copies symbol keys; undici ignores them). */
export function withClientSocket<T extends IncomingHttpHeaders>(headers: T, socket: Socket): T {
  (headers as Headers)[CLIENT_SOCKET] = socket;
  return headers;
}

/** The `request(opts, callback)` surface reply-from calls, over one undici Pool. */
export interface UpstreamAgent {
  request(opts: Dispatcher.RequestOptions, callback: (err: Error | null, data?: unknown) => void): void;
  close(): Promise<void>;
}

/**
 * Per client socket: one abort signal, fired if the socket closes while a request awaits its headers.
 * An EventEmitter with `aborted` and `reason`, which undici takes as a signal: adding and removing an
 * AbortSignal listener (an EventTarget) per request costs several times more.
 */
class ClientSignal extends EventEmitter {
  aborted = false;
  reason: Error | undefined;
  waiting = false;
}
const clients = new WeakMap<Socket, ClientSignal>();

function clientSignal(socket: Socket): ClientSignal {
  const known = clients.get(socket);
  if (known) return known;
  const s = new ClientSignal();
  clients.set(socket, s);
  const abandon = () => {
    // Only before the headers: once the body flows, fastify ends it with the client, quietly.
    if (!s.waiting || s.aborted) return;
    s.aborted = true;
    s.reason = new ClientGoneError();
    s.emit('abort');
  };
  if (socket.destroyed) queueMicrotask(abandon);
  else socket.once('close', abandon);
  return s;
}

/**
 * One Pool for the registration's one origin (what reply-from makes itself when given a base URL): an
 * Agent in front of it would look the origin up on every request and re-emit every pool's events.
 */
export function upstreamAgent(origin: string, options: Pool.Options): UpstreamAgent {
  const agent = new Pool(origin, options);
  return {
    request(opts, callback) {
      const headers = opts.headers as Headers | undefined;
      const socket = headers?.[CLIENT_SOCKET];
      if (!socket) return void agent.request(opts, callback);
      // (Left on the headers: undici reads string keys only, and a delete would slow the object down.)
      const signal = clientSignal(socket);
      signal.waiting = true;
      // undici drops its abort listener when the request settles, so listeners do not pile up.
      opts.signal = signal;
      agent.request(opts, (err, data) => {
        signal.waiting = false;
        callback(err, data);
      });
    },
    close: () => agent.close(),
  };
}
