import type { FrameSender } from '../realtime/client';
import { Emitter } from '../realtime/emitter';
import type { ServerFrame } from '../realtime/protocol';
import type { OutboxDb, OutboxEntry } from './db';

/**
 * What happened to a pending message. The outbox is the one owner of its state; the app's
 * messages slice only follows these events (it never decides pending / failed itself).
 */
export interface OutboxEvents extends Record<string, unknown> {
  /** A new message is queued (synchronously in `add`, so its row can paint in the same frame). */
  added: OutboxEntry;
  /** Entries a previous page left behind, loaded by `restore`. */
  restored: OutboxEntry[];
  sent: OutboxEntry;
  /** Stored by the server; the confirmed message itself reaches the store through its frame. */
  confirmed: { temp_id: string };
  failed: OutboxEntry;
  /** A failed entry is pending again, at the back of its room's queue. */
  retried: OutboxEntry;
  discarded: { temp_id: string };
}

export interface OutboxOptions {
  /** No answer this long on an open socket: send the head again (the temp_id makes it safe). */
  resendAfterMs?: number;
  /**
   * Where `add` runs its IndexedDB write and socket send. The app passes `nextTask`, so the frame
   * that shows the new row is not held up by them (~1-2 ms); by default they run at once.
   */
  defer?: (task: () => void) => void;
}

let lastOrder = 0;
/** Strictly increasing even when two messages are written in the same millisecond. */
function nextOrder(): number {
  lastOrder = Math.max(Date.now(), lastOrder + 1);
  return lastOrder;
}

/**
 * Every outgoing message passes through here. Per room, entries go out in creation order and the
 * next one only after the previous is confirmed (or failed); on every (re)connect the head of each
 * room's queue is sent again. The server confirms a temp_id it has already stored with the original
 * message, so a resend after a dropped socket never duplicates.
 *
 * It subscribes to nothing: the session feeds it the socket's opens, closes and frames
 * (`onOpen`, `onClose`, `onFrame`) in the order app/session.ts spells out.
 */
export class Outbox {
  readonly events = new Emitter<OutboxEvents>();
  private readonly entries = new Map<string, OutboxEntry>();
  /** temp_id of the entry currently awaiting confirmation, per room. */
  private readonly inFlight = new Map<number, string>();
  private readonly resendTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly resendAfterMs: number;
  private readonly defer: (task: () => void) => void;

  constructor(
    private readonly sender: FrameSender,
    private readonly db: OutboxDb,
    options: OutboxOptions = {},
  ) {
    this.resendAfterMs = options.resendAfterMs ?? 10_000;
    this.defer = options.defer ?? ((task) => task());
  }

  dispose(): void {
    this.onClose();
    this.events.clear();
  }

  /** The socket is open: send the head of every room's queue. */
  onOpen(): void {
    this.flush();
  }

  /** The socket is gone: nothing is in flight any more (the next open sends the heads again). */
  onClose(): void {
    this.resendTimers.forEach(clearTimeout);
    this.resendTimers.clear();
    this.inFlight.clear();
  }

  /**
   * The frames that settle a pending message. `message_pending` is not among them: it only says
   * the server is working on it, and neither a resend nor the row depends on that
   * (docs/protocol.md, "message_pending").
   */
  onFrame(frame: ServerFrame): void {
    if (frame.type === 'message_confirmed') this.settle(frame.temp_id, null);
    else if (frame.type === 'message_new' && frame.message.temp_id && this.entries.has(frame.message.temp_id)) {
      // Another tab of ours sent it (or the confirm was lost but the broadcast arrived): it is stored.
      this.settle(frame.message.temp_id, null);
    } else if (frame.type === 'message_failed') this.settle(frame.temp_id, frame.error || 'failed');
    else if (frame.type === 'error' && frame.temp_id) this.settle(frame.temp_id, frame.message || 'failed');
  }

  private release(room: number): void {
    clearTimeout(this.resendTimers.get(room));
    this.resendTimers.delete(room);
    this.inFlight.delete(room);
  }

  /** Load what a previous page left behind (announced as `restored`), then send what is pending. */
  async restore(): Promise<OutboxEntry[]> {
    const stored = await this.db.all();
    for (const entry of stored) this.entries.set(entry.temp_id, entry);
    this.events.emit('restored', stored);
    this.flush();
    return stored;
  }

  /** Queue a new message. `added` is emitted before this returns, so the caller can render it in the same frame. */
  add(room: number, content: string, tempId: string = crypto.randomUUID()): OutboxEntry {
    const entry: OutboxEntry = {
      temp_id: tempId,
      room,
      content,
      order: nextOrder(),
      created_at: new Date().toISOString(),
      status: 'pending',
    };
    this.entries.set(tempId, entry);
    this.events.emit('added', entry);
    this.defer(() => {
      if (this.entries.get(tempId) !== entry) return; // discarded meanwhile
      void this.db.put({ ...entry });
      this.sendNext(room);
    });
    return entry;
  }

  retry(tempId: string): void {
    const entry = this.entries.get(tempId);
    if (!entry || entry.status !== 'failed') return;
    entry.status = 'pending';
    delete entry.error;
    // A retried message goes to the back of its room's queue, as if written now.
    entry.order = nextOrder();
    void this.db.put({ ...entry });
    this.events.emit('retried', entry);
    this.sendNext(entry.room);
  }

  discard(tempId: string): void {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    this.entries.delete(tempId);
    void this.db.remove(tempId);
    const wasInFlight = this.inFlight.get(entry.room) === tempId;
    if (wasInFlight) this.release(entry.room);
    this.events.emit('discarded', { temp_id: tempId });
    if (wasInFlight) this.sendNext(entry.room); // the room's queue must not wait for the resend timer
  }

  pending(room?: number): OutboxEntry[] {
    return [...this.entries.values()]
      .filter((e) => e.status === 'pending' && (room === undefined || e.room === room))
      .sort((a, b) => a.order - b.order);
  }

  has(tempId: string): boolean {
    return this.entries.has(tempId);
  }

  flush(): void {
    const rooms = new Set([...this.entries.values()].map((e) => e.room));
    for (const room of rooms) this.sendNext(room);
  }

  private sendNext(room: number): void {
    if (this.inFlight.has(room) || !this.sender.isOpen) return;
    const next = this.pending(room)[0];
    if (!next) return;
    const sent = this.sender.send({ type: 'message_send', room, content: next.content, temp_id: next.temp_id });
    if (!sent) return;
    this.inFlight.set(room, next.temp_id);
    this.resendTimers.set(
      room,
      setTimeout(() => {
        this.release(room);
        this.sendNext(room);
      }, this.resendAfterMs),
    );
    this.events.emit('sent', next);
  }

  private settle(tempId: string, error: string | null): void {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    if (this.inFlight.get(entry.room) === tempId) this.release(entry.room);
    if (error === null) {
      this.entries.delete(tempId);
      void this.db.remove(tempId);
      this.events.emit('confirmed', { temp_id: tempId });
    } else {
      entry.status = 'failed';
      entry.error = error;
      void this.db.put({ ...entry });
      this.events.emit('failed', entry);
    }
    this.sendNext(entry.room);
  }
}
