// Every default value, named once with its unit. The config schema (config.ts) takes its defaults from
// here, and so does every constructor that has an option of the same meaning, so the two can never
// disagree. Sizes are bytes, durations milliseconds, rates per second.

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULTS = Object.freeze({
  // Network
  HOST: '127.0.0.1',
  PORT: 8080,
  /** Time a client has to send the complete request headers; a client dribbling them is cut after this. */
  HTTP_HEADERS_TIMEOUT_MS: 10_000,
  /** Time a client has to send the complete request (headers and body); a stalled body is cut after this. */
  HTTP_BODY_TIMEOUT_MS: 30_000,
  /**
   * Idle time allowed between two requests on a keep-alive connection. Above the 60 s idle timeout of
   * common load balancers (and nginx's 75 s), so the balancer, not us, closes idle connections: no 502 races.
   */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: 75_000,
  /** How often Node checks the header and body timeouts (Node's own default is 30 s, too coarse). */
  HTTP_TIMEOUT_CHECK_INTERVAL_MS: 1_000,

  // Messages and streams
  MAX_PAYLOAD_BYTES: 4 * MiB,
  HEARTBEAT_INTERVAL_MS: 30_000,
  SSE_KEEPALIVE_MS: 15_000,
  EVENT_BUFFER_EVENTS: 1_000,
  EVENT_BUFFER_BYTES: 4 * MiB,
  RESUME_WINDOW_MS: 60_000,
  SEND_HIGH_WATER_BYTES: 1 * MiB,
  SLOW_CLIENT_TIMEOUT_MS: 30_000,
  SESSION_IDLE_TIMEOUT_MS: 300_000,
  /**
   * A call's result waits at most this long for the client to answer the ordering ping sent after the
   * call's last progress (see outbox/ordering-barrier.ts); a client that lets it expire gets no more.
   * SDK clients answer within milliseconds of handling the progress before it.
   */
  ORDERING_BARRIER_TIMEOUT_MS: 2_000,
  /** WebSocket: after sending a close frame, how long the peer has to answer before the socket is dropped. */
  WS_CLOSE_TIMEOUT_MS: 3_000,

  // Sessions and calls
  MAX_SESSIONS: 10_000,
  MAX_CONCURRENT_PER_SESSION: 4,
  MAX_CONCURRENT_OPERATIONS: 64,
  MAX_QUEUED_PER_SESSION: 100,
  /** 0 = no timeout. */
  TOOL_TIMEOUT_MS: 0,
  SHUTDOWN_GRACE_MS: 10_000,

  // Limits
  RATE_LIMIT_MAX: 1_000,
  RATE_LIMIT_WINDOW_MS: 60_000,
  WS_MESSAGES_PER_SECOND: 1_000,
  WS_MESSAGE_BURST: 2_000,
  WS_RATE_LIMIT_STRIKES: 100,
  MAX_CONNECTIONS_PER_PRINCIPAL: 100,
  /** Seconds a client is told to wait (Retry-After) when the server is full or a dependency is down. */
  RETRY_AFTER_S: 5,

  // Auth
  JWT_CLOCK_TOLERANCE_MS: 30_000,

  // Tools
  DATA_DIR: './data',
  IMAGE_CONCURRENCY: 8,

  // Scale-out (STORE=redis)
  NODE_HEARTBEAT_MS: 1_000,
  NODE_TTL_MS: 3_000,

  // Live resources
  /** Throttle of `notifications/resources/updated` for live resources: one check per tick. */
  LIVE_TICK_MS: 250,
  /** Finished calls kept in `realtime://operations`. */
  RECENT_OPERATIONS: 50,
});
