// The in-memory stores: one node, nothing to run. Records live in Maps, the bus is an in-process
// dispatch, this node is the only one and always alive. The same contract as the Redis stores
// (test/stores-contract.test.ts), so the core behaves the same on either.
import { randomBytes } from 'node:crypto';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { MemoryEventLogFactory, type MemoryEventLogOptions } from '../../outbox/memory-event-log.js';
import type {
  Bus, BusMessage, CallRecord, ClaimOutcome, ClusterView, NodeRegistry, NodeSnapshot, SessionPatch, SessionRecord, SessionStore, Stores,
} from '../types.js';

/** A short random node id (8 hex characters). */
export function newNodeId(): string {
  return randomBytes(4).toString('hex');
}

export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  private readonly callsBySession = new Map<string, Map<RequestId, CallRecord>>();

  async create(record: SessionRecord): Promise<void> {
    this.records.set(record.id, { ...record, subscriptions: [...record.subscriptions] });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = this.records.get(id);
    return r === undefined ? undefined : { ...r, subscriptions: [...r.subscriptions] };
  }

  async update(id: string, patch: SessionPatch): Promise<void> {
    const r = this.records.get(id);
    if (r !== undefined) Object.assign(r, patch, patch.subscriptions ? { subscriptions: [...patch.subscriptions] } : {});
  }

  touch(_id: string): void {}

  async delete(id: string): Promise<void> {
    this.records.delete(id);
    this.callsBySession.delete(id);
  }

  async claim(id: string, node: string, isAlive: (node: string) => Promise<boolean>, expectedOwner?: string): Promise<ClaimOutcome> {
    const r = this.records.get(id);
    if (r === undefined) return undefined;
    const previousOwner = r.owner;
    if (previousOwner !== node && previousOwner !== expectedOwner && (await isAlive(previousOwner))) return { claimed: false, owner: previousOwner };
    if (this.records.get(id) !== r) return undefined; // deleted meanwhile
    r.owner = node;
    return { claimed: true, previousOwner };
  }

  recordCalls(sessionId: string, calls: Map<RequestId, CallRecord | undefined>): void {
    let mine = this.callsBySession.get(sessionId);
    for (const [id, call] of calls) {
      if (call === undefined) mine?.delete(id);
      else (mine ??= this.callsBySession.set(sessionId, new Map()).get(sessionId)!).set(id, { ...call });
    }
    if (mine?.size === 0) this.callsBySession.delete(sessionId);
  }

  async calls(sessionId: string): Promise<CallRecord[]> {
    return [...(this.callsBySession.get(sessionId)?.values() ?? [])].map((c) => ({ ...c }));
  }
}

/** One process: a message published to this node (or to all) is handled here, on the next tick. */
export class MemoryBus implements Bus {
  private readonly handlers: Array<(message: BusMessage) => void> = [];

  constructor(private readonly nodeId: string) {}

  publish(to: string, message: BusMessage): void {
    if (to !== '*' && to !== this.nodeId) return;
    const copy = JSON.parse(JSON.stringify(message)) as BusMessage; // the same isolation as a real bus
    process.nextTick(() => {
      for (const handler of this.handlers) {
        try {
          handler(copy);
        } catch {
          // One handler's failure must not stop the others, nor crash the process (as on the Redis bus).
        }
      }
    });
  }

  async listen(handler: (message: BusMessage) => void): Promise<void> {
    this.handlers.push(handler);
  }
}

export class SingleNode implements NodeRegistry {
  constructor(readonly id: string) {}

  async isAlive(node: string): Promise<boolean> {
    return node === this.id;
  }

  async alive(): Promise<string[]> {
    return [this.id];
  }
}

export class MemoryClusterView implements ClusterView {
  private latest: NodeSnapshot | undefined;

  publish(snapshot: NodeSnapshot): void {
    this.latest = snapshot;
  }

  async read(): Promise<NodeSnapshot[]> {
    return this.latest === undefined ? [] : [this.latest];
  }
}

export function createMemoryStores(options: { eventLog?: MemoryEventLogOptions; nodeId?: string } = {}): Stores {
  const id = options.nodeId ?? newNodeId();
  return {
    kind: 'memory',
    sessions: new MemorySessionStore(),
    eventLogs: new MemoryEventLogFactory(options.eventLog),
    bus: new MemoryBus(id),
    nodes: new SingleNode(id),
    cluster: new MemoryClusterView(),
    healthy: true,
    close: async () => {},
  };
}
