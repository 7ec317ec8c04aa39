// The in-process records cache holds what requests read (claims, identity headers), not the ID token:
// that is read from the store at sign-out only (issue 18: memory per session). The hint is still there.
import t from 'tap';
import { SessionRecords } from '../../src/session/records.js';
import { MemoryStore } from '../../src/token-cache/memory-store.js';

const claims = { sub: 'alice', iss: 'https://idp.example' };
const idToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

t.test(
  'the cached record keeps claims and headers, not the ID token; the hint comes from the store',
  async (t) => {
    const store = new MemoryStore({ maxEntries: 10 });
    t.teardown(() => store.close());
    const records = new SessionRecords(store, null, 30, (r) => ({ 'x-user': r.claims.sub }));
    await records.create('s1', { homeAccountId: 'alice.tenant', claims, idToken }, 3600);

    const cached = records.peek('s1');
    t.ok(cached, 'trusted right after sign-in');
    t.same(cached?.record, { homeAccountId: 'alice.tenant', claims }, 'no ID token in the cache');
    t.same(cached?.headers, { 'x-user': 'alice' });
    t.equal(await records.idTokenHint('s1'), idToken, 'the sign-out hint is read from the store');

    const fresh = await records.get('s1', true);
    t.same(fresh?.record, { homeAccountId: 'alice.tenant', claims }, 'nor after a reload from the store');
    t.equal(await records.idTokenHint('nobody'), undefined, 'no record: no hint');
    await records.delete('s1');
    t.equal(await records.idTokenHint('s1'), undefined, 'a deleted session has no hint');
  },
);
