import { api } from '../lib/api/client';
import { loadToken } from '../lib/api/token';
import type { User } from '../lib/api/types';
import { memoryOutboxDb, openOutboxDb, type OutboxDb } from '../lib/outbox/db';
import { Outbox } from '../lib/outbox/outbox';
import { RealtimeClient } from '../lib/realtime/client';
import { CLOSE_UNAUTHENTICATED } from '../lib/realtime/protocol';
import { SyncCoordinator } from '../lib/realtime/sync';
import { MessageLoader } from '../features/messages/loader';
import { ReceiptSender } from '../features/receipts/sender';
import { TypingExpiry, TypingNotifier } from '../features/typing/effects';
import { applyFrame } from './frames';
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
  const outbox = new Outbox(client, await openDb(user));
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

  const ctx = { store, receipts, typing: typingExpiry, refreshRooms: () => void refreshRooms().catch(() => undefined) };
  const offs = [
    client.on('state', (state) => store.getState().setConnection(state)),
    client.on('frame', (frame) => applyFrame(ctx, frame)),
    client.on('open', () => receipts.reset()),
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
  store.getState().restoreOutbox(await outbox.restore());
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
