// The one resource registry, shared by every session and transport: static resources, URI templates,
// `resources/read`, and per-session subscriptions with `notifyUpdated(uri)` sending
// `notifications/resources/updated` to the sessions subscribed to that URI. Live resources (e.g.
// `realtime://…`) register here like any other and call `notifyUpdated` when they change.
import type { BlobResourceContents, Resource, ResourceTemplate, TextResourceContents } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, RpcError } from '../errors.js';
import { notificationMessage } from '../outbox/messages.js';
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { Session } from '../sessions/session.js';

export type ResourceContents = TextResourceContents | BlobResourceContents;
/** What `read` may return: the contents, or one text (served with the resource's mimeType). */
export type ResourceReadResult = ResourceContents[] | string;

export interface ResourceDefinition extends Resource {
  read(uri: string, session: Session): Promise<ResourceReadResult> | ResourceReadResult;
  /** Called when a session subscribes to this URI (live resources take their baseline here). */
  onSubscribe?(session: Session): void;
}

export interface ResourceTemplateDefinition extends ResourceTemplate {
  /** Read one URI matching the template; `vars` holds the `{name}` values. */
  read(uri: string, vars: Record<string, string>, session: Session): Promise<ResourceReadResult> | ResourceReadResult;
  /** Completions for one template variable (`completion/complete` with `ref/resource`). */
  complete?(variable: string, value: string): string[];
}

interface CompiledTemplate {
  definition: ResourceTemplateDefinition;
  pattern: RegExp;
  names: string[];
}

const NO_SUBSCRIBERS: ReadonlySet<Session> = new Set();

export class ResourceRegistry {
  private readonly resources = new Map<string, ResourceDefinition>();
  private readonly templates: CompiledTemplate[] = [];
  /** Subscribers by URI. Sessions that ended are dropped by `forget` (and skipped if still here). */
  private readonly subscribers = new Map<string, Set<Session>>();
  private dispatcher: Dispatcher | undefined;
  /** Stores a session's subscriptions (scale-out: the node holding its stream sends the updates). */
  onSubscriptionsChange: ((session: Session, uris: string[]) => Promise<void>) | undefined;

  /** Answer resources/* for every session, and announce the capability once something is registered. */
  install(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
    dispatcher.setRequestHandler('resources/list', () => ({ resources: [...this.resources.values()].map(listEntry) }));
    dispatcher.setRequestHandler('resources/templates/list', () => ({ resourceTemplates: this.templates.map((t) => listEntry(t.definition)) }));
    dispatcher.setRequestHandler('resources/read', ({ session, params }) => this.read(uriParam(params), session));
    dispatcher.setRequestHandler('resources/subscribe', ({ session, params }) => this.stored(session, this.subscribe(session, uriParam(params))));
    dispatcher.setRequestHandler('resources/unsubscribe', ({ session, params }) => this.stored(session, this.unsubscribe(session, uriParam(params))));
    if (this.resources.size + this.templates.length > 0) this.announce();
  }

  add(definition: ResourceDefinition): this {
    if (this.resources.has(definition.uri)) throw new TypeError(`Resource ${definition.uri} is already registered`);
    this.resources.set(definition.uri, definition);
    this.announce();
    return this;
  }

  addTemplate(definition: ResourceTemplateDefinition): this {
    const names: string[] = [];
    const source = definition.uriTemplate.split(/(\{[^}]+\})/).map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    });
    this.templates.push({ definition, pattern: new RegExp(`^${source.join('')}$`), names });
    this.announce();
    return this;
  }

  get size(): number {
    return this.resources.size + this.templates.length;
  }

  /** The template registered under this uriTemplate, for completions. */
  template(uriTemplate: string): ResourceTemplateDefinition | undefined {
    return this.templates.find((t) => t.definition.uriTemplate === uriTemplate)?.definition;
  }

  async read(uri: string, session: Session): Promise<{ contents: ResourceContents[] }> {
    const direct = this.resources.get(uri);
    if (direct !== undefined) return { contents: contentsOf(uri, direct.mimeType, await direct.read(uri, session)) };
    for (const t of this.templates) {
      const m = t.pattern.exec(uri);
      if (m === null) continue;
      const vars: Record<string, string> = {};
      t.names.forEach((name, i) => (vars[name] = decodeURIComponent(m[i + 1]!)));
      return { contents: contentsOf(uri, t.definition.mimeType, await t.definition.read(uri, vars, session)) };
    }
    throw new RpcError(RpcCode.RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
  }

  subscribe(session: Session, uri: string): Record<string, never> {
    // Only resources that exist: a subscription per made-up URI would be memory for the asking.
    if (!this.resources.has(uri) && !this.templates.some((t) => t.pattern.test(uri))) {
      throw new RpcError(RpcCode.RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
    }
    let set = this.subscribers.get(uri);
    if (set === undefined) this.subscribers.set(uri, (set = new Set()));
    set.add(session);
    this.resources.get(uri)?.onSubscribe?.(session);
    return {};
  }

  /** The sessions subscribed to `uri` (live; may include sessions that just ended). */
  subscribersOf(uri: string): ReadonlySet<Session> {
    return this.subscribers.get(uri) ?? NO_SUBSCRIBERS;
  }

  unsubscribe(session: Session, uri: string): Record<string, never> {
    const set = this.subscribers.get(uri);
    set?.delete(session);
    if (set?.size === 0) this.subscribers.delete(uri);
    return {};
  }

  /** Send `notifications/resources/updated { uri }` to every session subscribed to `uri`; returns how many. */
  notifyUpdated(uri: string): number {
    const set = this.subscribers.get(uri);
    if (set === undefined) return 0;
    const message = notificationMessage('notifications/resources/updated', { uri });
    let n = 0;
    for (const session of set) {
      if (session.closed) {
        set.delete(session);
        continue;
      }
      session.send(message);
      n++;
    }
    return n;
  }

  /** The URIs a session is subscribed to. */
  subscriptionsOf(session: Session): string[] {
    const uris: string[] = [];
    for (const [uri, set] of this.subscribers) if (set.has(session)) uris.push(uri);
    return uris;
  }

  /** Make a session's subscriptions exactly `uris` (state stored by another node). */
  restoreSubscriptions(session: Session, uris: readonly string[]): void {
    this.forget(session);
    for (const uri of uris) {
      let set = this.subscribers.get(uri);
      if (set === undefined) this.subscribers.set(uri, (set = new Set()));
      set.add(session);
    }
  }

  /** `result` once the session's subscriptions are stored. */
  private stored<T>(session: Session, result: T): T | Promise<T> {
    const store = this.onSubscriptionsChange;
    return store === undefined ? result : store(session, this.subscriptionsOf(session)).then(() => result);
  }

  /** Drop a session's subscriptions (it ended). */
  forget(session: Session): void {
    for (const [uri, set] of this.subscribers) {
      if (set.delete(session) && set.size === 0) this.subscribers.delete(uri);
    }
  }

  private announce(): void {
    this.dispatcher?.addCapabilities({ resources: { subscribe: true, listChanged: false } });
  }
}

function uriParam(params: Record<string, unknown>): string {
  if (typeof params.uri !== 'string') throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: "uri" must be a string');
  return params.uri;
}

/** The list entry: everything but the read/complete functions. */
function listEntry<T extends object>(definition: T): T {
  const entry: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(definition)) if (typeof v !== 'function') entry[k] = v;
  return entry as T;
}

function contentsOf(uri: string, mimeType: string | undefined, out: ResourceReadResult): ResourceContents[] {
  if (typeof out !== 'string') return out;
  return [mimeType === undefined ? { uri, text: out } : { uri, mimeType, text: out }];
}
