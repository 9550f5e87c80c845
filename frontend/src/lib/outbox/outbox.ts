import type { RealtimeClient } from '../realtime/client';
import { Emitter } from '../realtime/emitter';
import type { ServerFrame } from '../realtime/protocol';
import type { OutboxDb, OutboxEntry } from './db';

export interface OutboxEvents extends Record<string, unknown> {
  sent: OutboxEntry;
  confirmed: { temp_id: string };
  failed: OutboxEntry;
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
 */
export class Outbox {
  readonly events = new Emitter<OutboxEvents>();
  private readonly entries = new Map<string, OutboxEntry>();
  /** temp_id of the entry currently awaiting confirmation, per room. */
  private readonly inFlight = new Map<number, string>();
  private readonly unsubscribe: Array<() => void>;
  private readonly resendTimers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly client: RealtimeClient,
    private readonly db: OutboxDb,
    /** No answer this long on an open socket: send the head again (the temp_id makes it safe). */
    private readonly resendAfterMs = 10_000,
  ) {
    this.unsubscribe = [
      client.on('open', () => this.flush()),
      client.on('close', () => this.clearInFlight()),
      client.on('frame', (frame) => this.observe(frame)),
    ];
  }

  dispose(): void {
    this.unsubscribe.forEach((off) => off());
    this.clearInFlight();
  }

  private clearInFlight(): void {
    this.resendTimers.forEach(clearTimeout);
    this.resendTimers.clear();
    this.inFlight.clear();
  }

  private release(room: number): void {
    clearTimeout(this.resendTimers.get(room));
    this.resendTimers.delete(room);
    this.inFlight.delete(room);
  }

  /** Load what a previous page left behind; the caller shows these as pending / failed rows. */
  async restore(): Promise<OutboxEntry[]> {
    const stored = await this.db.all();
    for (const entry of stored) this.entries.set(entry.temp_id, entry);
    this.flush();
    return stored;
  }

  /** Queue a new message. Synchronous so the caller can render it in the same frame. */
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
    void this.db.put(entry);
    this.sendNext(room);
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
    this.sendNext(entry.room);
  }

  discard(tempId: string): void {
    const entry = this.entries.get(tempId);
    if (!entry) return;
    this.entries.delete(tempId);
    void this.db.remove(tempId);
    if (this.inFlight.get(entry.room) === tempId) this.release(entry.room);
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
    if (this.inFlight.has(room) || !this.client.isOpen) return;
    const next = this.pending(room)[0];
    if (!next) return;
    const sent = this.client.send({ type: 'message_send', room, content: next.content, temp_id: next.temp_id });
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

  private observe(frame: ServerFrame): void {
    if (frame.type === 'message_confirmed') this.settle(frame.temp_id, null);
    else if (frame.type === 'message_new' && frame.message.temp_id && this.entries.has(frame.message.temp_id)) {
      // Another tab of ours sent it (or the confirm was lost but the broadcast arrived): it is stored.
      this.settle(frame.message.temp_id, null);
    } else if (frame.type === 'message_failed') this.settle(frame.temp_id, frame.error || 'failed');
    else if (frame.type === 'error' && frame.temp_id) this.settle(frame.temp_id, frame.message || 'failed');
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
