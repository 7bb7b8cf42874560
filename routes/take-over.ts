// Hand a request's response to a transport that writes it itself (SSE streams, JSON answered later):
// headers other hooks already set on the reply (rate limits, CORS) are kept, then Fastify lets go.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export function takeOver(reply: FastifyReply): ServerResponse {
  const res = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && name !== 'content-length' && name !== 'content-type') res.setHeader(name, value);
  }
  reply.hijack();
  return res;
}
