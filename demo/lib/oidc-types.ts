// The small part of oidc-provider's API the demo provider touches (the package ships no type declarations).
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Next = () => Promise<void>;

export interface KoaContext {
  req: IncomingMessage;
  url: string;
  path: string;
  method: string;
  status: number;
  body: unknown;
  query: Record<string, unknown>;
  oidc?: { params?: { scope?: unknown; [key: string]: unknown }; body?: Record<string, unknown> };
}

export interface OidcClientPrototype {
  redirectUriAllowed(value: string): boolean;
  postLogoutRedirectUriAllowed(value: string): boolean;
}

export interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(fn: (ctx: KoaContext, next: Next) => Promise<void>): unknown;
  Client: { prototype: OidcClientPrototype };
}

export interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: { InvalidTarget: new (description?: string) => Error };
}

// Known, harmless start-up warnings: Node 20 is "unsupported" by oidc-provider 9, and dev
// interactions and an in-memory store are exactly what a demo wants. Anything else still reaches
// the console.
const QUIET = [/Unsupported runtime/, /devInteractions is enabled/, /in-memory adapter/];

export async function loadOidcProvider(): Promise<OidcProviderModule> {
  // A non-literal specifier keeps TypeScript from demanding declarations for this untyped package.
  const specifier: string = 'oidc-provider';
  return quietly(() => import(specifier) as Promise<OidcProviderModule>);
}

export async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && QUIET.some((re) => re.test(args[0] as string))) return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
