// Signed-in users of a soak run: real sign-ins through the test IdP, mixed requests, sign-outs and sign-ins again.
//
// Every answer is checked, not just its status: the upstream must see this user's identity headers and the
// API a token for this user, so a request served for the wrong user counts as an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, signIn } from '../../lab/browser.js';
import type { TestIdp } from '../../lab/idp.js';
import type { Kind, Stats } from './stats.js';

const XHR = { accept: 'application/json', 'sec-fetch-mode': 'cors' };

// Mix of the requests a signed-in user makes (weights).
const MIX: [Exclude<Kind, 'sign-in' | 'sign-out'>, number][] = [
  ['upstream', 45],
  ['token', 30],
  ['public', 20],
  ['me', 5],
];
const TOTAL_WEIGHT = MIX.reduce((s, [, w]) => s + w, 0);

/** The kind whose weight band contains `at` (0 <= at < TOTAL_WEIGHT). */
function pickKind(at: number): (typeof MIX)[number][0] {
  let left = at;
  for (const [kind, weight] of MIX) {
    if (left < weight) return kind;
    left -= weight;
  }
  return 'upstream';
}

export class User {
  readonly browser: Browser;
  signedIn = false;
  /** Set by the churn loop: sign out and in again before the next request. */
  churn = false;
  private n = 0;

  constructor(
    readonly login: string,
    idp: TestIdp,
    private readonly base: string,
    private readonly stats: Stats,
  ) {
    this.browser = new Browser({ ca: idp.caPem });
  }

  async signIn(): Promise<boolean> {
    const started = performance.now();
    try {
      const page = await signIn(this.browser, `${this.base}/welcome`, { login: this.login });
      if (page.status !== 200 || page.url !== `${this.base}/welcome`) {
        this.stats.fail('sign-in', `${page.status} at ${new URL(page.url).pathname}`);
        return false;
      }
      this.signedIn = true;
      this.stats.ok('sign-in', performance.now() - started);
      return true;
    } catch (err) {
      this.stats.fail('sign-in', (err as Error).message.slice(0, 80));
      return false;
    }
  }

  async signOut(): Promise<void> {
    const started = performance.now();
    try {
      const res = await this.browser.fetch(`${this.base}/.auth/logout`, {
        method: 'POST',
        headers: { origin: this.base },
      });
      await res.arrayBuffer();
      if (res.status === 302) this.stats.ok('sign-out', performance.now() - started);
      else this.stats.fail('sign-out', String(res.status));
    } catch (err) {
      this.stats.fail('sign-out', (err as Error).message.slice(0, 80));
    }
    this.signedIn = false;
  }

  /** One request of the mix, checked. */
  async request(): Promise<void> {
    const kind = pickKind(Math.random() * TOTAL_WEIGHT);
    const i = this.n++;
    const path = {
      upstream: `/app/${i}`,
      token: `/api/orders/${i}`,
      public: `/public/${i}`,
      me: '/.auth/me',
    }[kind];
    const started = performance.now();
    let res: Response;
    let body: unknown;
    try {
      res = await this.browser.fetch(`${this.base}${path}`, { headers: XHR });
      const text = await res.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    } catch (err) {
      this.stats.fail(kind, (err as { code?: string }).code ?? (err as Error).message.slice(0, 60));
      return;
    }
    const ms = performance.now() - started;
    const problem = this.check(kind, res.status, body);
    if (problem) this.stats.fail(kind, problem);
    else this.stats.ok(kind, ms);
  }

  private check(kind: Kind, status: number, body: unknown): string | undefined {
    if (status !== 200) return `${status} ${(body as { error?: string })?.error ?? ''}`.trim();
    const email = `${this.login}@test.invalid`;
    const b = body as Record<string, unknown>;
    if (kind === 'upstream') {
      const headers = b.headers as Record<string, string> | undefined;
      if (headers?.['x-forwarded-email'] !== email) return 'upstream saw another identity';
    } else if (kind === 'token') {
      if (b.sub !== this.login) return 'the API got a token for another user';
    } else if (kind === 'me') {
      if ((body as { user_id?: string }[])[0]?.user_id !== email) return '/.auth/me shows another user';
    } else if (kind === 'public') {
      const headers = b.headers as Record<string, string> | undefined;
      if (headers?.['x-forwarded-email']) return 'identity headers on a public route';
    }
    return undefined;
  }

  close(): Promise<void> {
    return this.browser.close();
  }
}

/** Signs users in, `concurrency` at a time. */
export async function signInAll(users: User[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < users.length; i = next++) {
        const user = users[i] as User;
        for (let attempt = 0; attempt < 3 && !(await user.signIn()); attempt++) await sleep(200);
        if (!user.signedIn) throw new Error(`${user.login} could not sign in`);
      }
    }),
  );
}

/** One user's loop until `until()` says stop: requests with a short think time, churn when asked. */
export async function drive(user: User, stop: () => boolean): Promise<void> {
  while (!stop()) {
    if (user.churn) {
      await user.signOut();
      await user.signIn();
      user.churn = false;
    } else if (!user.signedIn) {
      await user.signIn(); // a sign-in that failed (e.g. during the Redis restart) is retried
      if (!user.signedIn) await sleep(500);
    } else {
      await user.request();
    }
    await sleep(10 + Math.random() * 50);
  }
}
