// Sign-in halfway: a browser that stops at the app's callback, so a test can replay, move or drop the code.
import { Response } from 'undici';
import { Browser, type BrowserRequestInit, signIn } from '../../lab/browser.js';

/**
 * A browser that does not follow the provider's redirect into the app's callback: the callback URL
 * (code + state) is captured instead, so a test can replay it, move it to another browser, or drop it.
 */
export class CapturingBrowser extends Browser {
  stopAt: string | undefined;
  captured: string | undefined;

  override async fetch(url: string, init: BrowserRequestInit = {}) {
    if (this.stopAt && url.startsWith(this.stopAt)) {
      this.captured = url;
      return new Response('captured by the test', { status: 200 });
    }
    return super.fetch(url, init);
  }
}

/** Runs a sign-in through the provider and returns the callback URL the provider sent the browser to. */
export async function authorizeOnly(
  browser: CapturingBrowser,
  startUrl: string,
  callbackUrl: string,
  login: string,
): Promise<string> {
  browser.stopAt = callbackUrl;
  browser.captured = undefined;
  try {
    await signIn(browser, startUrl, { login });
  } finally {
    browser.stopAt = undefined;
  }
  if (!browser.captured) throw new Error(`authorizeOnly: never reached ${callbackUrl}`);
  return browser.captured;
}
