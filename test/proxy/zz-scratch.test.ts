import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import t from 'tap';
import { startUpstream } from '../helpers/upstream.js';
import { startProxy } from './proxy-app.js';

t.test('x', async (t) => {
  const up = await startUpstream();
  t.teardown(() => up.close());
  const p = await startProxy(t, up.url);
  await new Promise<void>((resolve) => {
    const s = connect(p.port, '127.0.0.1');
    s.on('data', (d) => t.comment('DATA', JSON.stringify(d.toString())));
    s.on('end', () => t.comment('END'));
    s.on('close', () => {
      t.comment('CLOSE');
      resolve();
    });
    s.write('GET /q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    setTimeout(() => {
      s.destroy();
    }, 1500);
  });
});
