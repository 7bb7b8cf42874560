// The standalone server: a Fastify app with the process-level concerns (logger, HTTP timeouts, TLS)
// and the realtime-mcp plugin with every part on (built-in tools, /admin, /metrics, the dashboard),
// configured from the settings (plugins/server.ts reads them from the environment).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { parseList } from '../src/auth/lists.js';
import { DEFAULTS } from '../src/defaults.js';
import { createCoreFromConfig } from '../src/create-core.js';
import { createStores } from '../src/stores/index.js';
import realtimeMcp, { type RealtimeMcpOptions } from './realtime-mcp.js';

export interface BuildAppOptions extends Pick<RealtimeMcpOptions, 'tools' | 'identity' | 'stores'> {
  /** Register the built-in tools (default true). */
  builtinTools?: boolean;
  /** Where log lines go (default stdout); tests capture them to check that no token is logged. */
  logStream?: { write(line: string): void };
}

export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const trustedProxies = parseList(config.TRUSTED_PROXIES);
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      ...(options.logStream && { stream: options.logStream }),
      // Tokens never reach the logs, whatever a later serializer adds.
      redact: { paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'headers.authorization', 'headers["sec-websocket-protocol"]'], censor: '[redacted]' },
    },
    // Per-request logs would dominate the cost of small MCP POSTs; sessions are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: (handler) => createNodeServer(config, handler),
    bodyLimit: config.MAX_PAYLOAD_BYTES,
    return503OnClosing: true,
    forceCloseConnections: false,
    // X-Forwarded-For decides request.ip (rate-limit key without auth) only when sent by a listed proxy.
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
  });
  closeRefusedUpgrades(app);
  // STORE=redis connects here (and fails startup with a clear line when Redis cannot be reached).
  const stores = options.stores ?? (await createStores(config, app.log));
  if (options.stores === undefined) app.addHook('onClose', async () => stores.close());
  const core = createCoreFromConfig(config, { tools: options.tools, builtinTools: options.builtinTools ?? true, identity: options.identity, logger: app.log, stores });
  // The standalone app keeps a handle on its core (for the process entry, and for tests).
  app.decorate('mcp', core);
  await app.register(realtimeMcp, { config, core, admin: true, metrics: true, dashboard: true });
  return app;
}

/**
 * Every upgrade request of the server that is answered over HTTP instead (a 404 for an unknown path,
 * say) says `Connection: close` and its socket is closed once the answer is out: the socket was taken
 * from the HTTP server for the upgrade and nothing else would ever close it (the plugin does the same
 * for its own routes; this covers the rest of the app).
 */
function closeRefusedUpgrades(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.headers.upgrade !== undefined) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.headers.upgrade !== undefined && !request.raw.socket.destroyed) request.raw.socket.destroy();
    done();
  });
}

/**
 * The Node HTTP(S) server with explicit timeouts: complete headers within HTTP_HEADERS_TIMEOUT_MS, the
 * whole request within HTTP_BODY_TIMEOUT_MS (a stalled body or dribbled headers cannot hold a socket),
 * idle keep-alive connections closed after HTTP_KEEP_ALIVE_TIMEOUT_MS, checked every second. The
 * request timeout ends with the request: SSE responses and WebSockets are not cut by it.
 */
function createNodeServer(config: Config, handler: RequestListener): Server {
  const options: ServerOptions = {
    headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: Math.max(config.HTTP_BODY_TIMEOUT_MS, config.HTTP_HEADERS_TIMEOUT_MS),
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: DEFAULTS.HTTP_TIMEOUT_CHECK_INTERVAL_MS,
  };
  if (config.TLS_CERT_FILE !== '') return closeStalledConnectionsOnClose(createTlsServer(config, options, handler));
  return closeStalledConnectionsOnClose(createHttpServer(options, handler));
}

/**
 * The HTTPS server. A certificate and key that do not make a pair (or are not PEM) are a ConfigError
 * naming both settings, like every other bad setting, not a bare OpenSSL message.
 */
function createTlsServer(config: Config, options: ServerOptions, handler: RequestListener): Server {
  try {
    return createHttpsServer({ ...options, cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) }, handler) as unknown as Server;
  } catch (err) {
    const reason = String((err as Error)?.message ?? err).replace(/^error:[0-9A-Fa-f]+:[^:]*::?/, '');
    throw new ConfigError(`Invalid configuration: TLS_CERT_FILE (${config.TLS_CERT_FILE}) and TLS_KEY_FILE (${config.TLS_KEY_FILE}) are not a usable PEM certificate and private key pair: ${reason}`);
  }
}

/**
 * Node's `server.close()` ends idle keep-alive connections but waits for every other one, and it also
 * stops the timers that cut slow requests (HTTP_HEADERS_TIMEOUT_MS, HTTP_BODY_TIMEOUT_MS). So one
 * client held app.close(), and with it the graceful shutdown, for as long as it liked, past the hard
 * stop (exit 1 instead of 0): a connection that never sent a request (HTTP clients open them ahead of
 * use; undici keeps one 73 s after our 75 s keep-alive hint), or a request whose headers or body were
 * still coming (a stalled or slow upload). close() runs after the grace period, when nothing they send
 * would be served any more: end those connections with it. Connections with a complete request (their
 * response may still be going out) and upgraded ones are left to Node and the transports.
 * A connection is known by its peer address and port, which its TCP socket and (with TLS) the TLS
 * socket of its requests share, so a TLS connection that never finished its handshake goes too.
 */
function closeStalledConnectionsOnClose(server: Server): Server {
  /** Connections that have not made a request (or an upgrade) yet, by peer. */
  const unused = new Map<string, Socket>();
  /** The latest request of each connection that made one. */
  const lastRequest = new Map<Socket, IncomingMessage>();
  const peer = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on('connection', (socket: Socket) => {
    const key = peer(socket);
    unused.set(key, socket);
    socket.once('close', () => {
      if (unused.get(key) === socket) unused.delete(key);
    });
  });
  server.on('request', (request: IncomingMessage) => {
    const socket = request.socket as Socket;
    unused.delete(peer(socket));
    if (!lastRequest.has(socket)) socket.once('close', () => lastRequest.delete(socket));
    lastRequest.set(socket, request);
  });
  server.on('upgrade', (request: IncomingMessage) => unused.delete(peer(request.socket as Socket)));
  const close = server.close;
  server.close = function closeWithStalledConnections(this: Server, callback?: (err?: Error) => void) {
    for (const socket of unused.values()) socket.destroy();
    unused.clear();
    for (const [socket, request] of lastRequest) if (!request.complete) socket.destroy();
    return close.call(this, callback);
  };
  return server;
}
