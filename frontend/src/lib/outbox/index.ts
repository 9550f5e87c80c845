export { Outbox } from './outbox';
export type { OutboxEvents } from './outbox';
export { memoryOutboxDb, openOutboxDb } from './db';
export type { OutboxDb, OutboxEntry, OutboxStatus } from './db';
