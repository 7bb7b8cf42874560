// A TCP proxy on a free loopback port that forwards every connection to a target port, and can cut
// all current connections at once (both sides destroyed, no WebSocket close frame, no HTTP end): what
// a network drop looks like to the client and the server. New connections are forwarded as before.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted since start (a reconnect shows up as one more). */
  readonly accepted: number;
  /** Connections open right now. */
  readonly open: number;
  /** While true, new connections are dropped at once (the server is unreachable). */
  refusing: boolean;
  /**
   * Stop forwarding on every open connection without closing it: a black hole, like a network that
   * went away without a reset. Only a heartbeat can tell. Stalled connections end at close().
   */
  stall(): number;
  /** Destroy every open connection, both sides (reset: send RST instead of FIN). */
  cut(o?: { reset?: boolean }): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const stalled = new Set<{ client: Socket; upstream: Socket }>();
  let accepted = 0;
  const proxy = { refusing: false };
  const server: Server = createServer((client) => {
    accepted++;
    if (proxy.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    get refusing() {
      return proxy.refusing;
    },
    set refusing(value: boolean) {
      proxy.refusing = value;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    stall() {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        pairs.delete(pair);
        stalled.add(pair);
      }
      return n;
    },
    cut(o = {}) {
      const n = pairs.size;
      for (const { client, upstream } of [...pairs]) {
        if (o.reset) {
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        } else {
          client.destroy();
          upstream.destroy();
        }
      }
      pairs.clear();
      return n;
    },
    close() {
      for (const { client, upstream } of [...pairs, ...stalled]) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
