// Messages between nodes over Redis pub/sub.
//
// Shape, and why:
//   - one channel per node (rmcp:bus:<nodeId>) and one for everyone (rmcp:bus:*, a plain channel name,
//     not a pattern): a node subscribes to exactly two channels, and a message to one node costs the
//     others nothing. Messages are JSON.
//   - the subscription lives on its own connection (a subscribed connection can run nothing else);
//     ioredis subscribes again after every reconnect (autoResubscribe), so handlers survive Redis
//     restarts without doing anything.
//   - `publish` is fire and forget: it never throws and never waits; a failure is logged. While the
//     command connection is down a publish is dropped at once (and counted in the log) instead of
//     piling up in the offline queue: the bus is at-most-once anyway.
//   - Redis pub/sub is at-most-once: a node that is disconnected when a message is published never
//     gets it (Redis keeps nothing for absent subscribers). Callers must not rely on the bus for
//     anything that must arrive: durable things go to the session store or the event log, and the bus
//     only says "look there" or carries what may be lost (a broadcast, a nudge, a snapshot).
import type { Redis } from 'ioredis';
import type { Bus, BusMessage } from '../types.js';
import type { StoreLogger } from './connection.js';
import { busChannel } from './keys.js';

export interface RedisBusOptions {
  nodeId: string;
  /** The command connection (PUBLISH). */
  redis: Redis;
  /** The subscriber connection (SUBSCRIBE only). */
  subscriber: Redis;
  logger?: StoreLogger;
}

export class RedisBus implements Bus {
  private readonly nodeId: string;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly logger: StoreLogger | undefined;
  private readonly handlers: Array<(message: BusMessage) => void> = [];
  private subscribed: Promise<void> | undefined;
  /** Publishes dropped while Redis was away (reported with the next successful one). */
  private dropped = 0;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.redis = options.redis;
    this.subscriber = options.subscriber;
    this.logger = options.logger;
  }

  publish(to: string, message: BusMessage): void {
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      this.logger?.error({ err, type: message.type }, 'a bus message could not be serialized as JSON');
      return;
    }
    if (this.redis.status !== 'ready') {
      if (this.dropped++ === 0) this.logger?.warn({ to, type: message.type }, 'Redis is unreachable: bus messages are dropped until it is back');
      return;
    }
    if (this.dropped > 0) {
      this.logger?.warn({ dropped: this.dropped }, 'bus messages were dropped while Redis was unreachable');
      this.dropped = 0;
    }
    this.redis.publish(busChannel(to), text).catch((err: unknown) => this.logger?.error({ err, to, type: message.type }, 'could not publish a bus message'));
  }

  listen(handler: (message: BusMessage) => void): Promise<void> {
    this.handlers.push(handler);
    return (this.subscribed ??= this.subscribe());
  }

  private async subscribe(): Promise<void> {
    const mine = busChannel(this.nodeId);
    const all = busChannel('*');
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== mine && channel !== all) return;
      let message: BusMessage;
      try {
        message = JSON.parse(text) as BusMessage;
      } catch (err) {
        this.logger?.warn({ err, channel }, 'a bus message was not JSON; ignored');
        return;
      }
      for (const handler of this.handlers) {
        try {
          handler(message);
        } catch (err) {
          this.logger?.error({ err, type: message.type }, 'a bus handler threw');
        }
      }
    });
    await this.subscriber.subscribe(mine, all);
  }
}
