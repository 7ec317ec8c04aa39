// A headless "browser" for tests: cookie jar, hop-by-hop redirects, HTML form submission, and signIn() through the test IdP.
// Moved to lab/browser.ts (shared with bench/ and soak/).
export * from '../../lab/browser.js';

import { Browser, type BrowserRequestInit } from '../../lab/browser.js';

/** A browser that never keeps the session cookie (as over http when the cookie is Secure): it loops. */
export class CookieDroppingBrowser extends Browser {
  override async fetch(url: string, init: BrowserRequestInit = {}) {
    const res = await super.fetch(url, init);
    this.deleteCookie(url, 'authward');
    return res;
  }
}
