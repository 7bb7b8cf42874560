// Every Redis key and channel the stores use, named in one place so that the layout can be read (and
// changed) at a glance. All keys of one session start with `rmcp:s:<id>` and share its TTL.
//
//   rmcp:s:<id>               hash    the session record (SessionStore)
//   rmcp:s:<id>:calls         hash    calls in flight: JSON request id → JSON CallRecord
//   rmcp:s:<id>:log           stream  the event log, one entry per (stream, tick) batch
//   rmcp:s:<id>:seq           hash    newest sequence number per stream; `#m` = messages logged so far
//   rmcp:s:<id>:undelivered   hash    `<stream>:<seq>` → JSON request id of a response nobody received;
//                                     `<stream>` → the newest seq of that stream already settled (replayed or reported)
//   rmcp:node:<id>            string  a node's liveness key (expires unless the node heartbeats)
//   rmcp:nodes                zset    node ids scored by their last heartbeat (Redis time, ms)
//   rmcp:cluster              hash    node id → JSON NodeSnapshot
//   rmcp:bus:<id> / rmcp:bus:*        pub/sub channels: to one node / to all

export const KEY_PREFIX = 'rmcp:';

export const sessionKey = (id: string) => `rmcp:s:${id}`;
export const callsKey = (id: string) => `rmcp:s:${id}:calls`;
export const logKey = (id: string) => `rmcp:s:${id}:log`;
export const seqKey = (id: string) => `rmcp:s:${id}:seq`;
export const undeliveredKey = (id: string) => `rmcp:s:${id}:undelivered`;

/** Every key of a session (what `delete` removes and `touch` keeps alive). */
export const sessionKeys = (id: string) => [sessionKey(id), callsKey(id), logKey(id), seqKey(id), undeliveredKey(id)];

export const NODE_KEY_PREFIX = 'rmcp:node:';
export const nodeKey = (id: string) => `${NODE_KEY_PREFIX}${id}`;
export const NODES_KEY = 'rmcp:nodes';
export const CLUSTER_KEY = 'rmcp:cluster';
export const busChannel = (to: string) => `rmcp:bus:${to}`;
