export { RealtimeClient } from './client';
export type { RealtimeEvents, RealtimeOptions, SocketFactory, SocketLike } from './client';
export { SyncCoordinator } from './sync';
export { backoffDelay } from './backoff';
export { Emitter } from './emitter';
export * from './protocol';
