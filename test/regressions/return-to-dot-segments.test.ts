// Regression: a return target with dot segments ("/.//evil.com") resolved to the protocol-relative "//evil.com",
// so /.auth/login?post_login_redirect_uri=/.//evil.com redirected off-site after sign-in (and logout likewise).
import t from 'tap';
import { safeReturnTo } from '../../src/auth/return-to.js';

const ORIGIN = 'http://127.0.0.1:8080';

t.test('dot segments cannot produce a protocol-relative target', async (t) => {
  for (const v of [
    '/.//evil.com',
    '/..//evil.com',
    '/a/..//evil.com',
    '/%2e//evil.com',
    '/%2e%2e//evil.com',
    '/./%2e//evil.com',
    `${ORIGIN}/.//evil.com`,
  ]) {
    t.equal(safeReturnTo(v, ORIGIN), '/', v);
  }
  t.equal(safeReturnTo('/a/./b/../c', ORIGIN), '/a/c', 'harmless dot segments still resolve');
});
