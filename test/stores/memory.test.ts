// The in-memory stores against the store contract (test/stores/contract.ts). One process is one node:
// the cases that need a second node on the same backend are skipped, with that reason.
import { createMemoryStores } from '../../src/stores/memory/memory-stores.js';
import { defineStoreContract } from './contract.js';

const MAX_EVENTS = 20;

defineStoreContract('memory', async () => createMemoryStores({ eventLog: { maxEvents: MAX_EVENTS } }), {
  maxEvents: MAX_EVENTS,
  multiNode: false,
});
