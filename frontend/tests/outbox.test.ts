import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openOutboxDb, type OutboxDb } from '../src/lib/outbox/db';
import { Outbox } from '../src/lib/outbox/outbox';
import { RealtimeClient } from '../src/lib/realtime/client';
import { ME, message } from './fixtures';
import { wired } from './wiring';
import { TestServer, waitFor, wsFactory, type Frame } from './wsServer';

/** A server with the real contract's exactly-once rule: a seen temp_id is confirmed with the original. */
class StoringServer {
  readonly stored: Array<{ room: number; temp_id: string; content: string; seq: number }> = [];
  private readonly seqs = new Map<number, number>();
  dropBeforeConfirming = new Set<string>();
  failing = new Set<string>();

  constructor(readonly ws: TestServer) {
    ws.onFrame = (frame, socket) => {
      if (frame.type === 'ping') return this.ws.send({ type: 'pong' }, socket);
      if (frame.type !== 'message_send') return;
      const { room, temp_id, content } = frame as Frame & { room: number; temp_id: string; content: string };
      if (this.failing.has(temp_id)) return this.ws.send({ type: 'message_failed', temp_id, error: 'rejected' }, socket);
      let row = this.stored.find((s) => s.temp_id === temp_id);
      if (!row) {
        const seq = (this.seqs.get(room) ?? 0) + 1;
        this.seqs.set(room, seq);
        row = { room, temp_id, content, seq };
        this.stored.push(row);
      }
      if (this.dropBeforeConfirming.delete(temp_id)) return socket.terminate(); // stored, confirm lost
      this.ws.send({ type: 'message_confirmed', temp_id, message: message(room, row.seq, { user: ME, temp_id, content }) }, socket);
    };
  }
}

let ws: TestServer;
let server: StoringServer;
let client: RealtimeClient;
let db: OutboxDb;
let dbName: string;

beforeEach(async () => {
  ws = await TestServer.start();
  server = new StoringServer(ws);
  client = new RealtimeClient({ url: ws.url, createSocket: wsFactory, backoff: { baseMs: 50, maxMs: 200 } });
  dbName = `outbox-${Math.random()}`;
  db = await openOutboxDb(dbName);
});

afterEach(async () => {
  client.close();
  db.close();
  await ws.stop();
});

describe('Outbox', () => {
  it('survives a reload and flushes in order, exactly once, across a dropped socket', async () => {
    // Written while offline, in the previous page.
    const before = new Outbox(client, db);
    const written = [
      before.add(1, 'პირველი'),
      before.add(2, 'other room a'),
      before.add(1, 'second'),
      before.add(1, 'third'),
      before.add(2, 'other room b'),
    ];
    expect(ws.received).toHaveLength(0);
    before.dispose();
    db.close();

    // The reload: a new outbox over the same database finds them, in creation order.
    db = await openOutboxDb(dbName);
    const outbox = wired(client, new Outbox(client, db));
    const restored = await outbox.restore();
    expect(restored.map((e) => e.temp_id)).toEqual(written.map((e) => e.temp_id));
    expect(restored.every((e) => e.status === 'pending')).toBe(true);

    // The second room-1 message is stored but its confirmation is lost with the socket.
    server.dropBeforeConfirming.add(written[2]!.temp_id);
    client.connect();
    await waitFor(() => outbox.pending().length === 0, 5000, 'outbox drained');

    const room1 = server.stored.filter((s) => s.room === 1).map((s) => s.temp_id);
    const room2 = server.stored.filter((s) => s.room === 2).map((s) => s.temp_id);
    expect(room1).toEqual([written[0], written[2], written[3]].map((e) => e!.temp_id));
    expect(room2).toEqual([written[1], written[4]].map((e) => e!.temp_id));
    expect(server.stored).toHaveLength(5); // exactly once each
    expect(server.stored[0]!.content).toBe('პირველი');
    // The unconfirmed one really was sent twice; the server's temp_id rule kept one copy.
    expect(ws.framesOf('message_send').filter((f) => f.temp_id === written[2]!.temp_id)).toHaveLength(2);
    expect(ws.sockets.length).toBe(2);
    expect(await db.all()).toEqual([]);
    outbox.dispose();
  });

  it('sends a room\'s next message only after the previous one is confirmed', async () => {
    const outbox = wired(client, new Outbox(client, db));
    let held: (() => void) | null = null;
    const original = ws.onFrame;
    ws.onFrame = (frame, socket) => {
      if (frame.type === 'message_send' && held === null) {
        held = () => original(frame, socket); // hold the first confirmation back
        return;
      }
      original(frame, socket);
    };
    client.connect();
    await waitFor(() => client.state === 'online');
    outbox.add(3, 'one');
    outbox.add(3, 'two');
    await new Promise((r) => setTimeout(r, 150));
    expect(ws.framesOf('message_send').map((f) => f.content)).toEqual(['one']);
    held!();
    await waitFor(() => outbox.pending().length === 0, 3000, 'both confirmed');
    expect(server.stored.map((s) => s.content)).toEqual(['one', 'two']);
    outbox.dispose();
  });

  it('keeps a failed message as failed until it is retried or discarded', async () => {
    const outbox = wired(client, new Outbox(client, db));
    const failed: string[] = [];
    outbox.events.on('failed', (e) => failed.push(e.temp_id));
    client.connect();
    await waitFor(() => client.state === 'online');
    const entry = outbox.add(1, 'will fail');
    server.failing.add(entry.temp_id);
    await waitFor(() => failed.length === 1, 3000, 'failure');
    expect(await db.all()).toMatchObject([{ temp_id: entry.temp_id, status: 'failed' }]);
    expect(outbox.pending()).toHaveLength(0);

    server.failing.delete(entry.temp_id);
    outbox.retry(entry.temp_id);
    await waitFor(() => server.stored.length === 1, 3000, 'retried send stored');
    await waitFor(() => !outbox.has(entry.temp_id), 3000, 'removed when confirmed');

    const other = outbox.add(1, 'discard me');
    server.failing.add(other.temp_id);
    await waitFor(() => failed.length === 2, 3000, 'second failure');
    outbox.discard(other.temp_id);
    expect(await db.all()).toEqual([]);
    outbox.dispose();
  });
});

describe('Outbox resend', () => {
  it('sends the head again when no answer comes on an open socket, still stored once', async () => {
    const outbox = wired(client, new Outbox(client, db, { resendAfterMs: 200 }));
    const original = ws.onFrame;
    let swallowed = 0;
    ws.onFrame = (frame, socket) => {
      if (frame.type === 'message_send' && swallowed === 0) {
        swallowed++;
        server.stored.push({ room: 1, temp_id: String(frame.temp_id), content: String(frame.content), seq: 1 }); // stored, answer lost
        return;
      }
      original(frame, socket);
    };
    client.connect();
    await waitFor(() => client.state === 'online');
    const entry = outbox.add(1, 'lost answer');
    await waitFor(() => !outbox.has(entry.temp_id), 3000, 'confirmed after resend');
    expect(ws.framesOf('message_send')).toHaveLength(2);
    expect(server.stored.map((s) => s.temp_id)).toEqual([entry.temp_id]);
    outbox.dispose();
  });
});

describe('Outbox deferred add', () => {
  it('announces a message at once and writes and sends it in the deferred task; a discard before that sends nothing', async () => {
    const tasks: (() => void)[] = [];
    const outbox = wired(client, new Outbox(client, db, { defer: (task) => void tasks.push(task) }));
    const added: string[] = [];
    outbox.events.on('added', (e) => added.push(e.content));
    client.connect();
    await waitFor(() => client.state === 'online');

    const kept = outbox.add(1, 'kept');
    const dropped = outbox.add(1, 'dropped');
    expect(added).toEqual(['kept', 'dropped']);
    expect(ws.framesOf('message_send')).toHaveLength(0);
    expect(await db.all()).toEqual([]);

    outbox.discard(dropped.temp_id);
    expect(ws.framesOf('message_send')).toHaveLength(0);
    tasks.splice(0).forEach((task) => task());
    await waitFor(() => !outbox.has(kept.temp_id), 3000, 'kept confirmed');
    expect(ws.framesOf('message_send').map((f) => f.content)).toEqual(['kept']);
    expect(server.stored.map((s) => s.content)).toEqual(['kept']);
    expect(await db.all()).toEqual([]);
    outbox.dispose();
  });
});
