// The wrong-host trap: a browser that reached publicUrl's server under another name is sent to publicUrl
// before a sign-in starts, since the login cookie would belong to the wrong host and the callback (on
// publicUrl) would fail as "sign-in expired".
//
// Rules: the browser's host is a trusted X-Forwarded-Host (trustProxy), else Host. It is "another name
// for this server" only when its port equals publicUrl's (localhost:8080 for 127.0.0.1:8080, www. for the
// apex on 443). A Host on another port is not a browser's view of publicUrl (a front proxy that rewrites
// Host to an internal address, a probe, a forged header): redirecting it could loop behind such a proxy,
// so it is left alone. A GET/HEAD navigation gets 302 to the same path and query on publicUrl; anything
// else gets 400 (AW_WRONG_HOST) naming both hosts (a redirect would lose a POST body, and an XHR cannot
// follow it to another origin with its cookies).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WrongHostError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError, wantsHtml } from '../responses.js';

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

export class HostTrap {
  private readonly host: string;
  private readonly hostname: string;
  private readonly port: string;

  constructor(private readonly origin: string) {
    const url = new URL(origin);
    this.host = url.host;
    this.hostname = url.hostname.toLowerCase();
    this.port = url.port || (DEFAULT_PORT[url.protocol.slice(0, -1)] as string);
  }

  /** Answers a request on another name for this server and returns true; false when the host is right. */
  caught(request: FastifyRequest, reply: FastifyReply): boolean {
    const origin = request.server.forwardedOrigin;
    const seen = origin.browserHostOf(request);
    const [hostname, port] = split(seen, DEFAULT_PORT[origin.protoOf(request)] ?? '80');
    if (port !== this.port || hostname === this.hostname) return false;
    request.log.info({ event: 'rejected', code: 'AW_WRONG_HOST', seen }, 'another host than publicUrl');
    const navigation = (request.method === 'GET' || request.method === 'HEAD') && wantsHtml(request);
    if (navigation) {
      const target = new URL(request.url, this.origin); // only its path and query are kept
      reply
        .code(302)
        .headers(OWN_PAGE_HEADERS)
        .header('location', `${this.origin}${target.pathname}${target.search}`);
      reply.send();
    } else {
      sendError(request, reply, new WrongHostError(seen, this.host));
    }
    return true;
  }
}

/** host[:port] (HOST_SYNTAX-checked by the guard) -> [lowercase hostname, port]. */
function split(host: string, defaultPort: string): [string, string] {
  const m = /^(.*?)(?::(\d+))?$/.exec(host) as RegExpExecArray;
  return [(m[1] ?? '').toLowerCase(), m[2] ?? defaultPort];
}
