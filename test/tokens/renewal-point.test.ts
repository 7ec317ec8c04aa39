// When a cached token is renewed instead of reused (tokens/partition.ts renewalPoint): expiry minus
// min(300 s, renewWindow x lifetime), at least 5 s (half of a shorter life); share 1 is MSAL's fixed
// 300 s window; the provider's refresh_in wins when earlier. test/routes/short-token-lifetime.test.ts
// checks the same end to end (one refresh per lifetime, counted at a real provider).
import t from 'tap';
import { renewalPoint } from '../../src/tokens/partition.js';

const at = (cachedAt: number, expiresOn: number, share: number, refreshOn?: number) =>
  renewalPoint(cachedAt, expiresOn, share, refreshOn) / 1000;

t.test('the share of the lifetime, between the floor and MSAL’s 300 s', async (t) => {
  t.equal(at(1000, 1060, 0.1), 1054, '60 s token, 10%: reused for 54 s');
  t.equal(at(1000, 4600, 0.1), 4300, 'an hour, 10%: capped at 300 s');
  t.equal(at(1000, 1020, 0.1), 1015, '20 s token: the 5 s floor');
  t.equal(at(1000, 1006, 0.1), 1003, '6 s token: half its life');
  t.equal(at(1000, 1000, 0.1), 1000, 'no lifetime left: due now');
});

t.test('share 1 is MSAL’s fixed window: a token living 300 s or less is always due', async (t) => {
  t.equal(at(1000, 4600, 1), 4300);
  t.equal(at(1000, 1060, 1), 760, 'due before it was even cached');
});

t.test('the provider’s refresh_in wins when it is earlier', async (t) => {
  t.equal(at(1000, 4600, 0.1, 2800), 2800);
  t.equal(at(1000, 4600, 0.1, 4500), 4300, 'not when later');
});
