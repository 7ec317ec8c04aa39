// The App Service and provider-logout keys: every one off by default; an expiry header without the access
// token it belongs to is refused with its path; unknown keys in tokenHeaders are refused.
import t from 'tap';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { rawConfig } from '../helpers/config.js';

const problems = (overrides: Record<string, unknown>): string[] => {
  try {
    validateConfig(rawConfig(overrides));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

t.test('off by default', async (t) => {
  const c = validateConfig(rawConfig());
  t.equal(c.identity.backchannelLogout, false);
  t.equal(c.identity.frontchannelLogout, false);
  t.equal(c.session.exposeTokensToBrowser, false);
  t.same(c.upstream.tokenHeaders, { idToken: false, expiresOn: false, refreshToken: false });
});

t.test('expiresOn needs upstream.tokens', async (t) => {
  t.match(problems({ upstream: { tokenHeaders: { expiresOn: true } } }), [
    /^upstream\.tokenHeaders\.expiresOn: needs upstream\.tokens/,
  ]);
  t.same(problems({ upstream: { tokens: ['api://orders/read'], tokenHeaders: { expiresOn: true } } }), []);
});

t.test('unknown keys are refused', async (t) => {
  t.match(problems({ upstream: { tokenHeaders: { accessToken: true } } }).join('\n'), /accessToken/);
});
