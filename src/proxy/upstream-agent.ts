// The HTTP client of one proxy registration: connection options, timeouts, and no work for clients who left.
//
// reply-from neither gives undici a signal nor watches the client while it waits for the upstream's
// headers: a client that gives up (a closed tab, a caller's own timeout) would leave its request running
// upstream until the upstream answers or upstream.timeout passes, and a retrying client multiplies that.
// So the request carries its client's socket (on a symbol key of its headers, never sent) and is aborted
// when that socket closes first. Once the headers are in, the body is piped to the client, and reply-from
// and fastify destroy it when the client goes.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

const CLIENT_SOCKET = Symbol('authward.clientSocket');

type Headers = IncomingHttpHeaders & { [CLIENT_SOCKET]?: Socket };

/** Marks forwarded headers with the client's socket (reply-from copies symbol keys; undici ignores them). */
export function withClientSocket<T extends IncomingHttpHeaders>(headers: T, socket: Socket): T {
  (headers as Headers)[CLIENT_SOCKET] = socket;
  return headers;
}

/** The `request(opts, callback)` surface reply-from calls, over one undici Agent. */
export interface UpstreamAgent {
  request(opts: Dispatcher.RequestOptions, callback: (err: Error | null, data?: unknown) => void): void;
  close(): Promise<void>;
}

export function upstreamAgent(options: Agent.Options): UpstreamAgent {
  const agent = new Agent(options);
  return {
    request(opts, callback) {
      const headers = opts.headers as Headers | undefined;
      const socket = headers?.[CLIENT_SOCKET];
      if (!socket) return void agent.request(opts, callback);
      delete headers[CLIENT_SOCKET];
      const controller = new AbortController();
      const abandon = () => controller.abort(new ClientGoneError());
      if (socket.destroyed) abandon();
      else socket.once('close', abandon);
      agent.request({ ...opts, signal: controller.signal }, (err, data) => {
        socket.off('close', abandon);
        callback(err, data);
      });
    },
    close: () => agent.close(),
  };
}

/** The reason a request is aborted when its client went away (no upstream is to blame). */
export class ClientGoneError extends Error {
  readonly code = 'AW_CLIENT_GONE';
  constructor() {
    super('the client closed the connection before the upstream answered');
    this.name = 'ClientGoneError';
  }
}
