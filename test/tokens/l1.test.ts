// The L1 keeps each account's tokens by scopes key: one key or several, replaced, forgotten, bounded.
// (Issue 18 keeps an account's only token without a Map of its own: these hold whatever the shape.)
import t from 'tap';
import { L1 } from '../../src/tokens/l1.js';

const HOUR = 3_600_000;
const fresh = (token: string) => ({
  accessToken: token,
  expiresOn: Date.now() + HOUR,
  renewAt: Date.now() + HOUR - 300_000,
});

t.test('one account, several scopes keys: each is found under its own key only', async (t) => {
  const l1 = new L1(10, HOUR);
  l1.put('alice', 'read', fresh('t-read'), true);
  t.equal(l1.get('alice', 'read')?.token, 't-read');
  t.equal(l1.get('alice', 'write'), undefined, 'another key of the same account: a miss');
  t.equal(l1.get('bob', 'read'), undefined, 'another account: a miss');
  l1.put('alice', 'write', fresh('t-write'), true);
  t.equal(l1.get('alice', 'read')?.token, 't-read', 'the first key stays beside a second');
  t.equal(l1.get('alice', 'write')?.token, 't-write');
  l1.put('alice', 'read', fresh('t-read-2'), true);
  t.equal(l1.get('alice', 'read')?.token, 't-read-2', 'a new token replaces the old one');
  t.equal(l1.get('alice', 'write')?.token, 't-write');
  l1.forget('alice');
  t.equal(l1.get('alice', 'read'), undefined, 'forget drops every key of the account');
  t.equal(l1.get('alice', 'write'), undefined);
});

t.test('a replaced only token stays the only one; a token past its renewal point is not kept', async (t) => {
  const l1 = new L1(10, HOUR);
  l1.put('carol', 'read', fresh('a'), true);
  l1.put('carol', 'read', fresh('b'), true);
  t.equal(l1.get('carol', 'read')?.token, 'b');
  t.equal(l1.get('carol', 'other'), undefined);
  l1.put('dave', 'read', { accessToken: 'old', expiresOn: Date.now() + 1000, renewAt: Date.now() - 1 }, true);
  t.equal(l1.get('dave', 'read'), undefined, 'due for renewal: never served');
  const entry = l1.get('carol', 'read');
  t.ok(
    entry && entry.expiresOn > Date.now() && entry.until <= Date.now() + HOUR,
    'until is bounded by l1Ttl',
  );
});

t.test('bounded by accounts: the least recently used account goes', async (t) => {
  const l1 = new L1(2, HOUR);
  l1.put('a', 'k', fresh('ta'), true);
  l1.put('b', 'k', fresh('tb'), true);
  l1.put('b', 'k2', fresh('tb2'), true);
  t.ok(l1.get('a', 'k'), 'a used last');
  l1.put('c', 'k', fresh('tc'), true);
  t.equal(l1.get('b', 'k'), undefined, 'b evicted, all its keys');
  t.equal(l1.get('b', 'k2'), undefined);
  t.ok(l1.get('a', 'k') && l1.get('c', 'k'));
});
