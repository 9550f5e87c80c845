import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RealtimeClient } from '../src/lib/realtime/client';
import { backoffDelay } from '../src/lib/realtime/backoff';
import { CLOSE_SERVICE_RESTART, CLOSE_TRY_AGAIN_LATER, type ConnectionState } from '../src/lib/realtime/protocol';
import { SyncCoordinator } from '../src/lib/realtime/sync';
import { message } from './fixtures';
import { wired } from './wiring';
import { TestServer, waitFor, wsFactory } from './wsServer';

let server: TestServer;
let client: RealtimeClient;

function makeClient(over: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {}) {
  client = new RealtimeClient({ url: server.url, createSocket: wsFactory, backoff: { baseMs: 100, maxMs: 1000 }, ...over });
  return client;
}

beforeEach(async () => {
  server = await TestServer.start();
});

afterEach(async () => {
  client?.close();
  await server.stop();
});

describe('backoff', () => {
  it('grows exponentially, stays within [half, full] of the step, and is capped', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 0)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(2, opts)));
    expect(spread.size).toBeGreaterThan(1); // jitter
  });
});

describe('RealtimeClient', () => {
  it('reconnects with backoff after the server drops the socket, reporting its state', async () => {
    const states: ConnectionState[] = [];
    const opens: boolean[] = [];
    makeClient({ random: () => 1 }); // deterministic: full step of 100 ms then 200 ms
    client.on('state', (s) => states.push(s));
    client.on('open', ({ reconnect }) => opens.push(reconnect));
    client.connect();
    await waitFor(() => client.state === 'online', 2000, 'first open');

    server.current.terminate();
    const droppedAt = Date.now();
    await waitFor(() => server.sockets.length === 2 && client.state === 'online', 3000, 'reconnect');
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(90);
    expect(opens).toEqual([false, true]);
    expect(states).toEqual(['connecting', 'online', 'offline', 'connecting', 'online']);
  });

  it('keeps retrying while the server is unreachable, with growing waits', async () => {
    makeClient({ random: () => 1 });
    const connects: number[] = [];
    server.onConnection = (socket) => {
      connects.push(Date.now());
      socket.close(1012, 'restarting');
    };
    client.connect();
    await waitFor(() => connects.length >= 4, 5000, 'four attempts');
    const gaps = connects.slice(1).map((t, i) => t - connects[i]!);
    // 100, 200, 400 ms (+ connect time): each wait at least the previous one.
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]! + 150);
  });

  it('treats a missing pong as a dead socket and reconnects', async () => {
    makeClient({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 150 });
    server.onFrame = () => undefined; // a half-dead link: frames go in, nothing comes back
    const closes: number[] = [];
    client.on('close', ({ code }) => closes.push(code));
    client.connect();
    await waitFor(() => server.sockets.length >= 2, 3000, 'reconnect after heartbeat timeout');
    expect(server.framesOf('ping').length).toBeGreaterThanOrEqual(1);
    expect(closes[0]).toBe(4000);
  });

  it('keeps a socket that answers pings', async () => {
    makeClient({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 100 });
    client.connect();
    await new Promise((r) => setTimeout(r, 600));
    expect(server.sockets.length).toBe(1);
    expect(server.framesOf('ping').length).toBeGreaterThanOrEqual(5);
  });

  it('stops on 4001 and reports it, so the app can go to the login screen', async () => {
    const rejected: number[] = [];
    server.onConnection = (socket) => socket.close(4001, 'bad token');
    makeClient();
    client.on('rejected', ({ code }) => rejected.push(code));
    client.connect();
    await waitFor(() => rejected.length === 1, 2000, 'rejection');
    await new Promise((r) => setTimeout(r, 300));
    expect(server.sockets.length).toBe(1);
    expect(client.state).toBe('offline');
  });

  it('drops the socket when the browser goes offline, waits, and reconnects at once when it is back', async () => {
    makeClient({ random: () => 1 });
    const closes: string[] = [];
    client.on('close', ({ reason }) => closes.push(reason));
    client.connect();
    await waitFor(() => client.state === 'online', 2000, 'first open');
    const serverSide = server.current;
    const serverClosed = new Promise<void>((resolve) => serverSide.once('close', () => resolve()));

    client.networkOffline();
    expect(client.state).toBe('offline');
    expect(client.send({ type: 'ping' })).toBe(false);
    expect(closes).toEqual(['network offline']);
    await serverClosed; // the socket really went away
    await new Promise((r) => setTimeout(r, 400)); // several backoff steps: still no attempt
    expect(server.sockets.length).toBe(1);
    expect(client.state).toBe('offline');

    client.networkOnline();
    await waitFor(() => client.state === 'online', 2000, 'reconnect on online');
    expect(server.sockets.length).toBe(2);
  });

  it('does not connect while the network is down', async () => {
    makeClient();
    client.networkOffline();
    client.connect();
    await new Promise((r) => setTimeout(r, 200));
    expect(server.sockets.length).toBe(0);
    expect(client.state).toBe('offline');
    client.networkOnline();
    await waitFor(() => client.state === 'online', 2000, 'connect once online');
  });

  it.each([
    ['1012 (service restart)', CLOSE_SERVICE_RESTART],
    ['1013 (try again later)', CLOSE_TRY_AGAIN_LATER],
  ])('after a %s close, reconnects with jittered backoff and syncs every room', async (_name, code) => {
    const draws: number[] = [];
    makeClient({ random: () => (draws.push(1), 1) }); // the full step: 100 ms, then 200 ms
    const sync = wired(client, new SyncCoordinator(client));
    sync.track(1, 4);
    sync.track(2, 9);
    const closes: number[] = [];
    client.on('close', (e) => closes.push(e.code));
    const opened: number[] = [];
    server.onConnection = (socket) => {
      opened.push(Date.now());
      if (opened.length <= 2) setTimeout(() => socket.close(code, 'try again'), 20);
    };
    client.connect();
    await waitFor(() => opened.length === 3 && client.state === 'online', 3000, 'third socket');
    expect(closes).toEqual([code, code]);
    expect(draws.length).toBe(2); // each wait drew its jitter
    // ~20 ms open + the 100 ms wait, then ~20 ms + 200 ms: a growing wait, as for any drop.
    expect(opened[1]! - opened[0]!).toBeGreaterThanOrEqual(110);
    expect(opened[2]! - opened[1]!).toBeGreaterThanOrEqual(210);
    // Every open synced both rooms from their cursors.
    await waitFor(() => server.framesOf('sync_request').length === 6, 2000, 'syncs on every open');
    const perSocket = server.framesOf('sync_request').map((f) => [f.room, f.last_seq]);
    expect(perSocket.slice(4).sort()).toEqual([[1, 4], [2, 9]]);
    sync.dispose();
  });

  it('refuses to send while not connected', () => {
    makeClient();
    expect(client.send({ type: 'ping' })).toBe(false);
  });
});

describe('SyncCoordinator', () => {
  it('asks for a sync when a message_new skips a seq, then follows has_more', async () => {
    makeClient();
    const sync = wired(client, new SyncCoordinator(client));
    sync.track(1, 5, 5);
    client.connect();
    await waitFor(() => server.framesOf('sync_request').length === 1, 2000, 'sync on open');
    expect(server.framesOf('sync_request')[0]).toEqual({ type: 'sync_request', room: 1, last_seq: 5, since_change_seq: 5 });
    server.send({ type: 'sync_response', room: 1, messages: [], updated: [], has_more: false });

    server.send({ type: 'message_new', message: message(1, 6) });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.framesOf('sync_request').length).toBe(1); // 6 follows 5: no gap

    server.send({ type: 'message_new', message: message(1, 9) });
    await waitFor(() => server.framesOf('sync_request').length === 2, 2000, 'gap sync');
    expect(server.framesOf('sync_request')[1]).toMatchObject({ room: 1, last_seq: 6 });

    server.send({ type: 'sync_response', room: 1, messages: [message(1, 7), message(1, 8)], updated: [], has_more: true });
    await waitFor(() => server.framesOf('sync_request').length === 3, 2000, 'has_more follow-up');
    expect(server.framesOf('sync_request')[2]).toMatchObject({ room: 1, last_seq: 8 });
    server.send({ type: 'sync_response', room: 1, messages: [message(1, 9)], updated: [], has_more: false });
    await waitFor(() => sync.cursor(1)?.lastSeq === 9, 2000, 'cursor at 9');
    sync.dispose();
  });

  it('sends one sync_request per tracked room on every reconnect, from the newest seq seen', async () => {
    makeClient();
    const sync = wired(client, new SyncCoordinator(client));
    sync.track(1, 3);
    sync.track(2, 10);
    client.connect();
    await waitFor(() => server.framesOf('sync_request').length === 2, 2000, 'first syncs');
    server.send({ type: 'message_new', message: message(1, 4) });
    await waitFor(() => sync.cursor(1)?.lastSeq === 4, 2000, 'cursor moves');
    server.current.terminate();
    await waitFor(() => server.framesOf('sync_request').length === 4, 3000, 'syncs after reconnect');
    const after = server.framesOf('sync_request').slice(2);
    expect(after.map((f) => [f.room, f.last_seq]).sort()).toEqual([[1, 4], [2, 10]]);
    sync.dispose();
  });

  it('emits reset so the app reloads the newest page', async () => {
    makeClient();
    const sync = wired(client, new SyncCoordinator(client));
    const resets: number[] = [];
    sync.events.on('reset', ({ room }) => resets.push(room));
    sync.track(4, 1);
    client.connect();
    await waitFor(() => server.framesOf('sync_request').length === 1, 2000, 'sync');
    server.send({ type: 'sync_response', room: 4, messages: [], has_more: false, reset: true, last_seq: 90000 });
    await waitFor(() => resets.length === 1, 2000, 'reset');
    expect(resets).toEqual([4]);
    sync.dispose();
  });

  it('answers a resync frame with a sync_request from the last contiguous seq, at once', async () => {
    makeClient();
    const sync = wired(client, new SyncCoordinator(client));
    sync.track(1, 5, 5);
    client.connect();
    await waitFor(() => server.framesOf('sync_request').length === 1, 2000, 'sync on open');
    server.send({ type: 'sync_response', room: 1, messages: [], updated: [], has_more: false, reset: false, last_seq: 5 });
    server.send({ type: 'message_new', message: message(1, 6) });
    server.send({ type: 'message_new', message: message(1, 8) }); // a gap: asks from 6
    await waitFor(() => server.framesOf('sync_request').length === 2, 2000, 'gap sync');
    expect(sync.cursor(1)?.lastSeq).toBe(6);

    // With that sync still unanswered, the server says it lost frames: ask again, from 6.
    server.send({ type: 'resync', room: 1, reason: 'overflow' });
    await waitFor(() => server.framesOf('sync_request').length === 3, 2000, 'resync request');
    expect(server.framesOf('sync_request')[2]).toEqual({ type: 'sync_request', room: 1, last_seq: 6, since_change_seq: 8 });

    // A room this client does not hold is not synced (nothing to repair).
    server.send({ type: 'resync', room: 99, reason: 'unavailable' });
    // Both answers come; only one has_more chain follows them.
    server.send({ type: 'sync_response', room: 1, messages: [message(1, 7), message(1, 8)], updated: [], has_more: true, reset: false, last_seq: 9 });
    server.send({ type: 'sync_response', room: 1, messages: [message(1, 7), message(1, 8)], updated: [], has_more: true, reset: false, last_seq: 9 });
    await waitFor(() => server.framesOf('sync_request').length === 4, 2000, 'has_more follow-up');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.framesOf('sync_request').map((f) => [f.room, f.last_seq])).toEqual([[1, 5], [1, 6], [1, 6], [1, 8]]);
    sync.dispose();
  });

  it('syncs a room that connection_established reports ahead of us', async () => {
    makeClient();
    const sync = wired(client, new SyncCoordinator(client));
    sync.track(5, 2);
    client.connect();
    await waitFor(() => server.framesOf('sync_request').length === 1, 2000, 'sync');
    server.send({ type: 'sync_response', room: 5, messages: [], has_more: false });
    await new Promise((r) => setTimeout(r, 50));
    server.send({ type: 'connection_established', user_id: 1, room_id: null, rooms: [{ room: 5, last_seq: 7 }] });
    await waitFor(() => server.framesOf('sync_request').length === 2, 2000, 'catch-up sync');
    sync.dispose();
  });
});
