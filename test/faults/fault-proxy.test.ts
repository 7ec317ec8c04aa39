// The fault proxy itself: it forwards intact, and each fault (latency, stall, cut, refuse) does what it says.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import t from 'tap';
import { startFaultProxy } from '../helpers/fault-proxy.js';

// A line echo server: answers every line it gets with the same line.
const echo = createServer((s) => {
  s.on('error', () => {});
  s.pipe(s);
});
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => echo.close(() => r())));
const echoPort = (echo.address() as { port: number }).port;

/** A client socket with a helper to send a line and await its echo (or null after `ms`). */
async function client(port: number) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffered += d;
  });
  const roundTrip = async (line: string, ms = 2000): Promise<number | null> => {
    const started = performance.now();
    buffered = '';
    socket.write(`${line}\n`);
    while (!buffered.includes(`${line}\n`)) {
      if (performance.now() - started > ms) return null;
      await new Promise((r) => setTimeout(r, 5));
    }
    return performance.now() - started;
  };
  return { socket, roundTrip };
}

const errorOf = (socket: Socket) =>
  new Promise<string>((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.once('close', () => resolve('closed'));
  });

t.test('forwards bytes intact, both ways, with large writes', async (t) => {
  const fp = await startFaultProxy({ target: { port: echoPort } });
  t.teardown(() => fp.close());
  const socket = connect(fp.port, '127.0.0.1');
  const payload = Buffer.alloc(4 * 1024 * 1024, 7);
  payload.write('start', 0);
  payload.write('end', payload.length - 3);
  const got: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= payload.length) resolve();
    });
  });
  socket.write(payload);
  await done;
  t.ok(Buffer.concat(got).equals(payload), '4 MB echoed unchanged');
  t.equal(fp.bytes.up, payload.length);
  socket.destroy();
});

t.test('latency: each direction is delayed', async (t) => {
  const fp = await startFaultProxy({ target: { port: echoPort } });
  t.teardown(() => fp.close());
  const c = await client(fp.port);
  t.teardown(() => c.socket.destroy());
  // Judged against the injected latency itself: with it, a round trip takes at least twice it (a busy
  // machine only adds); without it, less than one injection. No margin on how fast the machine is.
  const LATENCY_MS = 500;
  const fast = (await c.roundTrip('a', 30_000)) as number;
  fp.setLatency(LATENCY_MS);
  const slow = (await c.roundTrip('b', 30_000)) as number;
  fp.setLatency(0);
  t.ok(fast < LATENCY_MS, `no latency: ${fast.toFixed(1)} ms`);
  t.ok(slow >= 2 * LATENCY_MS - 5, `${LATENCY_MS} ms each way: round trip ${slow.toFixed(1)} ms`);
});

t.test('stall: nothing moves until resume, then everything held arrives', async (t) => {
  const fp = await startFaultProxy({ target: { port: echoPort } });
  t.teardown(() => fp.close());
  const c = await client(fp.port);
  t.teardown(() => c.socket.destroy());
  t.ok(await c.roundTrip('before'), 'works before');
  fp.stall();
  t.equal(await c.roundTrip('during', 400), null, 'no answer while stalled');
  const late = await client(fp.port);
  t.teardown(() => late.socket.destroy());
  t.equal(await late.roundTrip('new', 300), null, 'a new connection is stalled too');
  fp.resume();
  await new Promise((r) => setTimeout(r, 100));
  t.ok(await c.roundTrip('after'), 'works after resume');
  t.ok(await late.roundTrip('new-after'), 'so does the new connection');
});

t.test('cutAll resets open connections; refuse and accept', async (t) => {
  const fp = await startFaultProxy({ target: { port: echoPort } });
  t.teardown(() => fp.close());
  const c = await client(fp.port);
  t.ok(await c.roundTrip('x'));
  const failed = errorOf(c.socket);
  fp.cutAll();
  t.equal(await failed, 'ECONNRESET', 'the client sees a reset');
  t.equal(fp.open, 0);
  t.equal(fp.closedByClient, 0, 'a cut is not counted as a client close');

  await fp.refuse();
  const refused = connect(fp.port, '127.0.0.1');
  t.equal(await errorOf(refused), 'ECONNREFUSED', 'refused while refusing');
  await fp.accept();
  const again = await client(fp.port);
  t.teardown(() => again.socket.destroy());
  t.ok(await again.roundTrip('y'), 'accepts again');
});
