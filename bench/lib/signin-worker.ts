// A worker thread of browsers signing users in (sessions.ts, signInMany): the IdP keeps the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { type LoopInput, signInLoop } from './sessions.js';

const { input, browsers } = workerData as { input: LoopInput; browsers: number };
const port = parentPort;
if (!port) throw new Error('signin-worker runs as a worker thread');
const stopped = await Promise.all(
  Array.from({ length: browsers }, () => signInLoop(input, (session) => port.postMessage({ session }))),
);
port.postMessage({ stopped: stopped.some(Boolean) });
