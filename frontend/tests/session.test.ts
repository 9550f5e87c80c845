import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dispatchFrame, routeSocket, type FrameRoute } from '../src/app/session';
import { createChatStore, type ChatStore } from '../src/app/store';
import { followOutbox } from '../src/features/messages/pending';
import { toArray } from '../src/features/messages/timeline';
import { ReceiptSender } from '../src/features/receipts/sender';
import { TypingExpiry } from '../src/features/typing/effects';
import { memoryOutboxDb } from '../src/lib/outbox/db';
import { Outbox } from '../src/lib/outbox/outbox';
import { RealtimeClient } from '../src/lib/realtime/client';
import type { ClientFrame, ServerFrame } from '../src/lib/realtime/protocol';
import { SyncCoordinator } from '../src/lib/realtime/sync';
import { ME, message, page, room } from './fixtures';
import { serverFrames } from './generated/serverFrames';
import { TestServer, waitFor, wsFactory } from './wsServer';

const R = 7;

/** The session's route over a socket stand-in that records what is sent (always open). */
function makeRoute(store: ChatStore) {
  const sent: ClientFrame[] = [];
  const sender = { isOpen: true, send: (f: ClientFrame) => (sent.push(f), true) };
  const sync = new SyncCoordinator(sender);
  const outbox = new Outbox(sender, memoryOutboxDb());
  const receipts = new ReceiptSender((f) => sender.send(f));
  const refreshes: number[] = [];
  const route: FrameRoute = {
    sync,
    outbox,
    receipts,
    store: {
      store,
      receipts,
      typing: new TypingExpiry((...args) => store.getState().setTyping(...args)),
      refreshRooms: () => refreshes.push(Date.now()),
      isTracked: (r) => sync.tracks(r),
    },
  };
  followOutbox(outbox, store);
  const dispatch = (frame: ServerFrame) => dispatchFrame(route, frame);
  return { route, sent, sync, outbox, refreshes, dispatch };
}

let store: ChatStore;
const rows = () => toArray(store.getState().timelines[R]!);

beforeEach(() => {
  store = createChatStore();
  store.getState().setMe(ME);
  store.getState().setRooms([room(R, { last_seq: 3 })]);
  store.getState().loadLatest(R, page([message(R, 1), message(R, 2), message(R, 3)]));
});

describe('one owner for a pending message', () => {
  it('the row follows the outbox: added, failed, retried to the end, confirmed', () => {
    const { outbox, sent, dispatch } = makeRoute(store);
    const entry = outbox.add(R, 'გამარჯობა');
    expect(rows().at(-1)).toMatchObject({ key: entry.temp_id, local: 'pending', content: 'გამარჯობა' });
    expect(sent).toEqual([{ type: 'message_send', room: R, content: 'გამარჯობა', temp_id: entry.temp_id }]);

    dispatch({ type: 'message_pending', temp_id: entry.temp_id, status: 'sending' }); // informative only
    dispatch({ type: 'message_failed', temp_id: entry.temp_id, error: 'the database is unavailable', code: 'unavailable' });
    expect(rows().at(-1)).toMatchObject({ local: 'failed', error: 'the database is unavailable' });

    dispatch({ type: 'message_new', message: message(R, 4) }); // someone else's, meanwhile
    expect(rows().map((m) => m.seq ?? m.key)).toEqual([1, 2, 3, 4, entry.temp_id]);

    outbox.retry(entry.temp_id);
    expect(rows().at(-1)).toMatchObject({ key: entry.temp_id, local: 'pending' });
    expect(sent.filter((f) => f.type === 'message_send')).toHaveLength(2);

    const stored = message(R, 5, { user: ME, temp_id: entry.temp_id, content: 'გამარჯობა' });
    dispatch({ type: 'message_confirmed', temp_id: entry.temp_id, message: stored });
    expect(outbox.has(entry.temp_id)).toBe(false);
    expect(rows().at(-1)).toMatchObject({ key: entry.temp_id, seq: 5, local: null });
    expect(store.getState().timelines[R]!.localCount).toBe(0);
  });

  it('an error frame naming a temp_id fails it; discard removes the row', () => {
    const { outbox, dispatch } = makeRoute(store);
    const entry = outbox.add(R, 'too fast');
    dispatch({ type: 'error', message: 'too many frames: slow down', code: 'rate_limited', temp_id: entry.temp_id });
    expect(outbox.pending()).toEqual([]);
    expect(rows().at(-1)).toMatchObject({ key: entry.temp_id, local: 'failed' });
    outbox.discard(entry.temp_id);
    expect(outbox.has(entry.temp_id)).toBe(false);
    expect(rows().map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('restored entries come back as rows in the state the outbox kept', async () => {
    const db = memoryOutboxDb();
    await db.put({ temp_id: 'a', room: R, content: 'queued', order: 1, created_at: '2026-11-24T10:00:00Z', status: 'pending' });
    await db.put({ temp_id: 'b', room: R, content: 'refused', order: 2, created_at: '2026-11-24T10:00:01Z', status: 'failed', error: 'no' });
    const outbox = new Outbox({ isOpen: false, send: () => false }, db);
    followOutbox(outbox, store);
    await outbox.restore();
    expect(rows().slice(3).map((m) => [m.key, m.local])).toEqual([['a', 'pending'], ['b', 'failed']]);
  });
});

describe('the frame pipeline', () => {
  it('hands a frame to the sync, then the outbox, then the store', () => {
    const { route, sync, sent, dispatch } = makeRoute(store);
    sync.track(R, 3);
    const order: string[] = [];
    vi.spyOn(route.sync, 'onFrame').mockImplementation(function (this: SyncCoordinator, frame) {
      order.push('sync');
      SyncCoordinator.prototype.onFrame.call(this, frame);
    });
    vi.spyOn(route.outbox, 'onFrame').mockImplementation(function (this: Outbox, frame) {
      order.push('outbox');
      Outbox.prototype.onFrame.call(this, frame);
    });
    const off = store.subscribe(() => order.push('store'));
    dispatch({ type: 'message_new', message: message(R, 6) }); // 4 and 5 are missing
    off();
    expect(order).toEqual(['sync', 'outbox', 'store']);
    // The sync saw the gap against its own cursor (3), before the store held seq 6.
    expect(sent.filter((f) => f.type === 'sync_request')).toMatchObject([{ room: R, last_seq: 3 }]);
    expect(rows().map((m) => m.seq)).toEqual([1, 2, 3, 6]);
  });

  it('a resync syncs a loaded room at once, and refreshes the room list for the others', () => {
    const { sync, sent, refreshes, dispatch } = makeRoute(store);
    sync.track(R, 3);
    dispatch({ type: 'resync', room: R, reason: 'gap' });
    expect(sent).toEqual([{ type: 'sync_request', room: R, last_seq: 3 }]);
    expect(refreshes).toHaveLength(0);
    dispatch({ type: 'resync', room: 99, reason: 'unavailable' });
    expect(sent).toHaveLength(1);
    expect(refreshes).toHaveLength(1);
  });

  it('takes one sample of every server frame', () => {
    const { dispatch } = makeRoute(store);
    for (const frame of serverFrames) dispatch(frame);
    expect(store.getState().rooms[1]).toBeDefined(); // room_added
  });
});

describe('the session route over a real socket', () => {
  let server: TestServer;
  let client: RealtimeClient;
  beforeEach(async () => {
    server = await TestServer.start();
    client = new RealtimeClient({ url: server.url, createSocket: wsFactory, backoff: { baseMs: 50, maxMs: 200 } });
  });
  afterEach(async () => {
    client.close();
    await server.stop();
  });

  it('on every open: the rooms are synced before queued messages go out', async () => {
    const sync = new SyncCoordinator(client);
    const outbox = new Outbox(client, memoryOutboxDb());
    const receipts = new ReceiptSender((f) => client.send(f));
    const context = { store, receipts, typing: new TypingExpiry(() => undefined), refreshRooms: () => undefined, isTracked: (r: number) => sync.tracks(r) };
    routeSocket(client, { sync, outbox, receipts, store: context });
    followOutbox(outbox, store);
    sync.track(R, 3);
    const entry = outbox.add(R, 'written offline');
    client.connect();
    await waitFor(() => server.received.length === 2, 2000, 'sync and send');
    expect(server.received.map((f) => f.type)).toEqual(['sync_request', 'message_send']);
    server.send({ type: 'message_confirmed', temp_id: entry.temp_id, message: message(R, 4, { user: ME, temp_id: entry.temp_id }) });
    await waitFor(() => !outbox.has(entry.temp_id), 2000, 'confirmed');
    expect(rows().at(-1)).toMatchObject({ key: entry.temp_id, seq: 4, local: null });
  });
});
