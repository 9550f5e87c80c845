import { api } from '../lib/api/client';
import { loadToken } from '../lib/api/token';
import type { User } from '../lib/api/types';
import { nextTask } from '../lib/nextTask';
import { memoryOutboxDb, openOutboxDb, type OutboxDb } from '../lib/outbox/db';
import { Outbox } from '../lib/outbox/outbox';
import { RealtimeClient } from '../lib/realtime/client';
import { CLOSE_UNAUTHENTICATED, type ServerFrame } from '../lib/realtime/protocol';
import { SyncCoordinator } from '../lib/realtime/sync';
import { MessageLoader } from '../features/messages/loader';
import { followOutbox } from '../features/messages/pending';
import { ReceiptSender } from '../features/receipts/sender';
import { TypingExpiry, TypingNotifier } from '../features/typing/effects';
import { applyFrame, type FrameContext } from './frames';
import type { ChatStore } from './store';

/** Everything that lives while a user is logged in: the socket and the helpers around it. */
export interface Session {
  client: RealtimeClient;
  sync: SyncCoordinator;
  outbox: Outbox;
  loader: MessageLoader;
  receipts: ReceiptSender;
  typing: TypingNotifier;
  refreshRooms: () => Promise<void>;
  stop: () => void;
}

/** The parts the socket's events are routed through. */
export interface FrameRoute {
  sync: SyncCoordinator;
  outbox: Outbox;
  receipts: ReceiptSender;
  store: FrameContext;
}

/**
 * The one place a server frame is dispatched, in this order:
 * 1. the sync, against its own cursors: a `seq` gap or a `resync` asks for the missing range
 *    before anything has applied the frame;
 * 2. the outbox: a confirm, failure or echo of our own send settles its pending message (the
 *    messages slice follows the outbox's events, see features/messages/pending.ts);
 * 3. the store (applyFrame): the frame's data into the slices, delivery acknowledged.
 */
export function dispatchFrame(route: FrameRoute, frame: ServerFrame): void {
  route.sync.onFrame(frame);
  route.outbox.onFrame(frame);
  applyFrame(route.store, frame);
}

/** Wire the socket's opens, closes and frames to the route; returns the unsubscribe. */
export function routeSocket(client: RealtimeClient, route: FrameRoute): () => void {
  const offs = [
    client.on('open', () => {
      // A throttled receipt may have died with the old socket; then the syncs, then our sends.
      route.receipts.reset();
      route.sync.onOpen();
      route.outbox.onOpen();
    }),
    client.on('close', () => route.outbox.onClose()),
    client.on('frame', (frame) => dispatchFrame(route, frame)),
  ];
  return () => offs.forEach((off) => off());
}

function socketUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/chat/?token=${encodeURIComponent(loadToken() ?? '')}`;
}

async function openDb(user: User): Promise<OutboxDb> {
  try {
    return await openOutboxDb(`chat-outbox-${user.id}`);
  } catch {
    return memoryOutboxDb();
  }
}

export async function startSession(store: ChatStore, user: User, onUnauthenticated: () => void): Promise<Session> {
  const client = new RealtimeClient({ url: socketUrl });
  const sync = new SyncCoordinator(client);
  const outbox = new Outbox(client, await openDb(user), { defer: nextTask });
  const loader = new MessageLoader(store, api, sync);
  const receipts = new ReceiptSender((f) => client.send(f));
  const typing = new TypingNotifier((f) => client.send(f));
  const typingExpiry = new TypingExpiry((...args) => store.getState().setTyping(...args));

  let refreshing: Promise<void> | null = null;
  const refreshRooms = () =>
    (refreshing ??= api
      .listRooms()
      .then((rooms) => store.getState().setRooms(rooms))
      .finally(() => (refreshing = null)));

  const frameContext: FrameContext = {
    store,
    receipts,
    typing: typingExpiry,
    refreshRooms: () => void refreshRooms().catch(() => undefined),
    isTracked: (room) => sync.tracks(room),
  };
  const offs = [
    routeSocket(client, { sync, outbox, receipts, store: frameContext }),
    followOutbox(outbox, store),
    client.on('state', (state) => store.getState().setConnection(state)),
    client.on('rejected', ({ code }) => {
      if (code === CLOSE_UNAUTHENTICATED) onUnauthenticated();
      else store.getState().setConnectionError(`The server refused the connection (${code}).`);
    }),
    sync.events.on('reset', ({ room }) => void loader.reloadLatest(room).catch(() => undefined)),
  ];
  // The browser's own view of the network: drop the socket when it goes away (Chromium would keep
  // a dead socket "open" until the heartbeat fails), reconnect the moment it is back.
  const onOnline = () => client.networkOnline();
  const onOffline = () => client.networkOffline();
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);
  if (typeof navigator !== 'undefined' && navigator.onLine === false) client.networkOffline();

  await refreshRooms().catch(() => undefined);
  await outbox.restore();
  client.connect();

  return {
    client,
    sync,
    outbox,
    loader,
    receipts,
    typing,
    refreshRooms,
    stop: () => {
      offs.forEach((off) => off());
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
      typingExpiry.dispose();
      receipts.reset();
      outbox.dispose();
      sync.dispose();
      client.close();
    },
  };
}
