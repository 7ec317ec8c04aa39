// The per-request parts of the header rules: X-Forwarded-* as authward vouches for them, what to inject.
//
// Rules enforced: X-Forwarded-Host and -Proto are publicUrl's host and scheme, unless the peer is one
// trustProxy names and it sent a well-formed value (host[:port]; http or https): the client's own Host
// never reaches the upstream (it would build links or redirects from it). X-Forwarded-For is fastify's
// (trustProxy applied to the chain).
import { BlockList, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { CookieNames } from '../session/cookie.js';
import type { ForwardContext } from './headers.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where X-Forwarded-Host/-Proto come from (built once from publicUrl and trustProxy). */
    forwardedOrigin: ForwardedOrigin;
  }
}

/** A Host value as RFC 9110 allows it here: a name or IPv4 address, or a bracketed IPv6 one, and a port. */
export const HOST_SYNTAX = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const PROTO_SYNTAX = /^https?$/;

/** proxy-addr's (fastify's) names for address ranges, accepted in trustProxy as fastify accepts them. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

export class ForwardedOrigin {
  private readonly host: string;
  private readonly proto: string;
  /** Whether a peer address may vouch for X-Forwarded-Host/-Proto (null: none may). */
  private readonly trusted: ((address: string) => boolean) | null;

  constructor(publicUrl: string, trustProxy: Config['trustProxy']) {
    const url = new URL(publicUrl);
    this.host = url.host;
    this.proto = url.protocol.slice(0, -1);
    // As fastify decides for request.host and request.protocol: a hop count never vouches for the
    // immediate peer, so it never does here either.
    if (trustProxy === true) this.trusted = () => true;
    else if (Array.isArray(trustProxy)) this.trusted = trustList(trustProxy);
    else this.trusted = null;
  }

  hostOf(request: FastifyRequest): string {
    return this.forwarded(request, request.headers['x-forwarded-host'], HOST_SYNTAX) ?? this.host;
  }

  /** The host the browser asked for: a trusted X-Forwarded-Host, else the Host header (guard-checked). */
  browserHostOf(request: FastifyRequest): string {
    return (
      this.forwarded(request, request.headers['x-forwarded-host'], HOST_SYNTAX) ?? request.headers.host ?? ''
    );
  }

  protoOf(request: FastifyRequest): string {
    return this.forwarded(request, request.headers['x-forwarded-proto'], PROTO_SYNTAX) ?? this.proto;
  }

  /** The last entry of a forwarded header, if a trusted peer sent a well-formed one. */
  private forwarded(request: FastifyRequest, header: unknown, syntax: RegExp): string | undefined {
    if (typeof header !== 'string' || this.trusted === null) return undefined;
    const address = request.raw.socket.remoteAddress;
    if (address === undefined || !this.trusted(address)) return undefined;
    const comma = header.lastIndexOf(',');
    const value = (comma === -1 ? header : header.slice(comma + 1)).trim();
    return syntax.test(value) ? value : undefined;
  }
}

const TRUST_MEMO_MAX = 1024;

/**
 * A matcher for a trustProxy list: addresses, CIDRs, proxy-addr's range names. Each peer address is
 * decided once (BlockList.check builds a SocketAddress, ~4 µs, on every call; forward auth asks on every
 * request): a bounded memo, cleared when full, of exactly what the list answers.
 */
export function trustList(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList(); // (IPv4-mapped IPv6 addresses match their IPv4 rules and back)
  for (const entry of entries.flatMap((e) => NAMED[e] ?? [e])) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  const memo = new Map<string, boolean>();
  return (address) => {
    let trusted = memo.get(address);
    if (trusted === undefined) {
      if (memo.size >= TRUST_MEMO_MAX) memo.clear();
      trusted = list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
      memo.set(address, trusted);
    }
    return trusted;
  };
}

/** X-Forwarded-* as authward vouches for them (fastify applies trustProxy to the address chain). */
export function forwardContext(
  request: FastifyRequest,
  names: CookieNames,
  inject: Readonly<Record<string, string>> | undefined,
  dropAuthorization = false,
): ForwardContext {
  const origin = request.server.forwardedOrigin;
  return {
    forwardedFor: request.ips ? [...request.ips].reverse().join(', ') : request.ip,
    proto: origin.protoOf(request),
    host: origin.hostOf(request),
    requestId: request.id,
    ownCookie: names.isOwn,
    inject,
    dropAuthorization,
  };
}
