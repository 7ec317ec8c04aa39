// While the server closes, a request that still arrives (on a keep-alive connection busy when the listener
// closed) gets authward's own 503: JSON or the page, Retry-After, and Connection: close.
//
// Fastify's return503OnClosing (turned off in app.ts) would answer it with a fixed JSON body and no
// Retry-After; this stage answers in its place, right after the guard (which names the route and request id).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ShuttingDownError } from '../errors.js';
import { sendError } from '../responses.js';

async function closing(app: FastifyInstance): Promise<void> {
  let closing = false;
  // preClose: right after fastify stops routing as usual, before the listener closes.
  app.addHook('preClose', async () => {
    closing = true;
  });
  // (Callback style, as every per-request hook: answering early means not calling done.)
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    sendError(request, reply, new ShuttingDownError());
  });
}

export const closingStage = fp(closing, { name: 'authward-closing', dependencies: ['authward-guard'] });
