// Finds TCP ports on 127.0.0.1 for tests: free ones to listen on, and closed ones to get "connection refused".
import { createServer } from 'node:net';

/** A port the OS just handed out on 127.0.0.1 and that is free again now (listen on :0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    // Not listening yet must never keep a test process alive.
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listening socket has no TCP address'));
        return;
      }
      // Resolve only after close so the caller can bind the port straight away.
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/**
 * A port with nothing listening on it, so connecting gets ECONNREFUSED.
 * It is a freshly released ephemeral port: the kernel hands ports out round-robin, so nobody
 * re-binds it within the lifetime of a test.
 */
export function closedPort(): Promise<number> {
  return freePort();
}
