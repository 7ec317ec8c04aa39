// A headless "browser" for tests: cookie jar, hop-by-hop redirects, HTML form submission, and signIn() through the test IdP.
// Moved to lab/browser.ts (shared with bench/ and soak/).
export * from '../../lab/browser.js';
