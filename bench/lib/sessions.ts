// Real sessions: users signed in through the test IdP's login and consent pages, never forged cookies.
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, signIn } from '../../lab/browser.js';
import type { TestIdp } from '../../lab/idp.js';
import { type Authward, COOKIE } from './authward.js';

/** Signs `login` in through authward's start page; returns the Cookie header line wrk sends. */
export async function signInUser(
  idp: TestIdp,
  aw: Authward,
  login: string,
  expectBody: string,
  browser = new Browser({ ca: idp.caPem }),
): Promise<string> {
  const page = await signIn(browser, `${aw.url}/`, { login });
  if (page.status !== 200 || page.body !== expectBody) {
    throw new Error(
      `sign-in of ${login} at ${aw.variant.name} ended on ${page.url} with ${page.status}: ${page.body.slice(0, 200)}`,
    );
  }
  const value = browser.cookie(aw.url, COOKIE);
  if (!value) throw new Error(`sign-in of ${login} at ${aw.variant.name} set no ${COOKIE} cookie`);
  return `${COOKIE}=${value}`;
}

export interface ManySignIns {
  /** Cookie header lines, in sign-in order, with the login each belongs to. */
  sessions: { login: string; cookie: string }[];
  seconds: number;
  stoppedByBudget: boolean;
  failures: number;
}

/**
 * Signs in users `${prefix}0..n-1`, `concurrency` at a time (one browser each, its cookie jar
 * cleared between users so the IdP shows its login form again), until n or the time budget.
 */
export async function signInMany(
  idp: TestIdp,
  aw: Authward,
  o: { prefix: string; n: number; concurrency: number; budgetS: number; expectBody: string },
  progress: (done: number, seconds: number) => void,
): Promise<ManySignIns> {
  const started = Date.now();
  const deadline = started + o.budgetS * 1000;
  const sessions: ManySignIns['sessions'] = [];
  let next = 0;
  let failures = 0;
  let stoppedByBudget = false;
  const worker = async () => {
    const browser = new Browser({ ca: idp.caPem });
    try {
      for (;;) {
        if (Date.now() > deadline) {
          stoppedByBudget = next < o.n;
          return;
        }
        const i = next++;
        if (i >= o.n) return;
        browser.clearCookies();
        try {
          const login = `${o.prefix}${i}`;
          sessions.push({ login, cookie: await signInUser(idp, aw, login, o.expectBody, browser) });
        } catch (err) {
          if (++failures > 20) throw err;
          await sleep(50);
        }
      }
    } finally {
      await browser.close();
    }
  };
  const ticker = setInterval(() => progress(sessions.length, (Date.now() - started) / 1000), 5_000);
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    clearInterval(ticker);
  }
  return { sessions, seconds: (Date.now() - started) / 1000, stoppedByBudget, failures };
}
