// Real sessions: users signed in through the test IdP's login and consent pages, never forged cookies.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
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

export interface ManyOptions {
  prefix: string;
  n: number;
  concurrency: number;
  budgetS: number;
  expectBody: string;
  /**
   * Worker threads the browsers run in (SIGNIN_THREADS), so the IdP has this thread to itself: both
   * in one thread, the driver was the bottleneck of a 10,000-user sign-in. 0: all in this thread.
   */
  threads?: number;
}

/** What one browser loop needs: where to sign in, and the shared next-user counter and deadline. */
export interface LoopInput {
  caPem: string;
  awUrl: string;
  awName: string;
  prefix: string;
  n: number;
  expectBody: string;
  deadline: number;
  /** Int32Array over a SharedArrayBuffer: [next user, failures]. */
  counters: Int32Array;
}

const FAILURES_ALLOWED = 20;

/**
 * One browser signing users in until n or the deadline, its cookie jar cleared between users so the
 * IdP shows its login form again. Returns true when it stopped at the deadline with users left.
 */
export async function signInLoop(
  input: LoopInput,
  signedIn: (s: { login: string; cookie: string }) => void,
): Promise<boolean> {
  const { counters } = input;
  const browser = new Browser({ ca: input.caPem });
  const idp = { caPem: input.caPem } as TestIdp;
  const aw = { url: input.awUrl, variant: { name: input.awName } } as Authward;
  try {
    for (;;) {
      if (Date.now() > input.deadline) return Atomics.load(counters, 0) < input.n;
      const i = Atomics.add(counters, 0, 1);
      if (i >= input.n) return false;
      browser.clearCookies();
      try {
        const login = `${input.prefix}${i}`;
        signedIn({ login, cookie: await signInUser(idp, aw, login, input.expectBody, browser) });
      } catch (err) {
        if (Atomics.add(counters, 1, 1) + 1 > FAILURES_ALLOWED) throw err;
        await sleep(50);
      }
    }
  } finally {
    await browser.close();
  }
}

/**
 * Signs in users `${prefix}0..n-1`, `concurrency` browsers at a time, until n or the time budget;
 * the browsers run in `threads` worker threads (bench/lib/signin-worker.ts), the IdP stays here.
 */
export async function signInMany(
  idp: TestIdp,
  aw: Authward,
  o: ManyOptions,
  progress: (done: number, seconds: number) => void,
): Promise<ManySignIns> {
  const started = Date.now();
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const input: LoopInput = {
    caPem: idp.caPem,
    awUrl: aw.url,
    awName: aw.variant.name,
    prefix: o.prefix,
    n: o.n,
    expectBody: o.expectBody,
    deadline: started + o.budgetS * 1000,
    counters,
  };
  const sessions: ManySignIns['sessions'] = [];
  const add = (x: { login: string; cookie: string }) => sessions.push(x);
  const threads = Math.min(o.threads ?? 0, o.concurrency);
  const share = (t: number) => Math.floor(o.concurrency / threads) + (t < o.concurrency % threads ? 1 : 0);
  const ticker = setInterval(() => progress(sessions.length, (Date.now() - started) / 1000), 5_000);
  let stopped: boolean[];
  try {
    stopped =
      threads > 0
        ? await Promise.all(Array.from({ length: threads }, (_, t) => inWorker(input, share(t), add)))
        : await Promise.all(Array.from({ length: o.concurrency }, () => signInLoop(input, add)));
  } finally {
    clearInterval(ticker);
  }
  return {
    sessions,
    seconds: (Date.now() - started) / 1000,
    stoppedByBudget: stopped.some(Boolean),
    failures: Atomics.load(counters, 1),
  };
}

/** `browsers` loops in a worker thread; each session comes back as a message. */
function inWorker(
  input: LoopInput,
  browsers: number,
  add: (s: { login: string; cookie: string }) => void,
): Promise<boolean> {
  const worker = new Worker(new URL('./signin-worker.js', import.meta.url), {
    workerData: { input, browsers },
  });
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { session?: { login: string; cookie: string }; stopped?: boolean }) => {
      if (m.session) add(m.session);
      else resolve(m.stopped === true);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`sign-in worker exited with ${code}`)));
  });
}
