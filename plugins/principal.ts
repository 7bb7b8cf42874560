// Every request carries the caller's principal (set by auth; anonymous when auth is off).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import type { Principal } from '../src/sessions/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

const principalPlugin: FastifyPluginAsync = async (app) => {
  app.decorateRequest('principal', undefined);
};

export default fp(principalPlugin, { fastify: '5.x', name: 'realtime-mcp-principal' });
