// `subscriptions/listen` (MCP 2026-07-28): one long-lived response per subscription, replacing
// resources/subscribe and the session's GET stream. Like a request context it is a Session in shape, so
// the resource registry and the live resources (realtime://operations, realtime://server/stats) notify
// it exactly as they notify a session subscriber; on the way out every notification is tagged with the
// subscription id (the listen request's id), and nothing but list changes and updates of the subscribed
// URIs goes out. The first message is the acknowledgment naming what is honored; the last, on graceful
// shutdown, the listen result.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Outbox } from '../../outbox/outbox.js';
import { notificationMessage, resultMessage, type OutMessage } from '../../outbox/messages.js';
import { Session, type TransportKind } from '../../sessions/session.js';
import type { Principal } from '../../sessions/principal.js';
import { isObject, META_SERVER_INFO, META_SUBSCRIPTION_ID } from './envelope.js';
import { NullEventLog, type OutboxSettings } from './request-session.js';

/** The filter of a listen request, and the honored subset in its acknowledgment. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

const LIST_CHANGED: Readonly<Record<string, keyof ListenFilter>> = {
  'notifications/tools/list_changed': 'toolsListChanged',
  'notifications/prompts/list_changed': 'promptsListChanged',
  'notifications/resources/list_changed': 'resourcesListChanged',
};

/** `params.notifications` of a listen request, or undefined when missing or malformed. */
export function parseListenFilter(params: Record<string, unknown> | undefined): ListenFilter | undefined {
  const n = params?.notifications;
  if (!isObject(n)) return undefined;
  const filter: ListenFilter = {};
  for (const key of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    const v = n[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') return undefined;
    filter[key] = v;
  }
  const uris = n.resourceSubscriptions;
  if (uris !== undefined) {
    if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) return undefined;
    filter.resourceSubscriptions = [...new Set(uris as string[])];
  }
  return filter;
}

export class ListenSession extends Session {
  override readonly modern = true;
  readonly listenId: RequestId;
  readonly honored: ListenFilter;

  constructor(id: string, kind: TransportKind, principal: Principal | undefined, listenId: RequestId, honored: ListenFilter, outbox: OutboxSettings) {
    super(id, kind, principal, () => new Outbox(new NullEventLog(), { ...outbox, ping: () => Promise.resolve() }));
    this.listenId = listenId;
    this.honored = honored;
    this.initialized = true;
  }

  /** Sessions get all logs; a subscription stream gets none (logs belong to their request's stream). */
  override wantsLog(): boolean {
    return false;
  }

  /** What the registries send a subscriber: only list changes and resource updates it asked for, tagged. */
  override send(message: OutMessage): void {
    if (this.closed || message.kind !== 'notification') return;
    const body = message.body as { method: string; params?: Record<string, unknown> };
    const flag = LIST_CHANGED[body.method];
    if (flag !== undefined ? this.honored[flag] !== true : body.method !== 'notifications/resources/updated') return;
    super.send(notificationMessage(body.method, this.tagged(body.params)));
  }

  /** The acknowledgment: the first message of the subscription. */
  acknowledge(): void {
    super.send(notificationMessage('notifications/subscriptions/acknowledged', this.tagged({ notifications: this.honored })));
  }

  /** The listen result (graceful end: shutdown); the stream ends after it. */
  complete(serverInfo: { name: string; version: string }): void {
    if (this.closed) return;
    super.send(resultMessage(this.listenId, { resultType: 'complete', _meta: { [META_SUBSCRIPTION_ID]: this.listenId, [META_SERVER_INFO]: serverInfo } }));
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.close();
  }

  private tagged(params: Record<string, unknown> | undefined): Record<string, unknown> {
    const meta = isObject(params?._meta) ? params._meta : {};
    return { ...params, _meta: { ...meta, [META_SUBSCRIPTION_ID]: this.listenId } };
  }
}
