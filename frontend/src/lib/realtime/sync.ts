import type { FrameSender } from './client';
import { Emitter } from './emitter';
import type { FrameOf, ServerFrame } from './protocol';

interface RoomCursor {
  /** The last contiguous seq held: every message up to it is known. */
  lastSeq: number;
  changeSeq: number;
  /** sync_requests sent on this socket and not answered yet. */
  outstanding: number;
}

export interface SyncEvents extends Record<string, unknown> {
  /** The server says we are too far behind: the app reloads the newest page of this room. */
  reset: { room: number };
  /** A sync for this room was sent (exposed for tests and diagnostics). */
  requested: { room: number; lastSeq: number };
}

/**
 * Keeps "what have we seen" per room and repairs holes: a `sync_request` per tracked room on every
 * (re)connect, another on a `seq` gap or a `resync` frame, and follow-ups while the server says
 * `has_more`. It keeps its own cursors (plain numbers) and the session hands it every frame before
 * any store applies it, so it sees a gap first.
 */
export class SyncCoordinator {
  readonly events = new Emitter<SyncEvents>();
  private readonly rooms = new Map<number, RoomCursor>();

  constructor(private readonly sender: FrameSender) {}

  dispose(): void {
    this.events.clear();
  }

  /** Start tracking a room whose messages the app holds, up to `lastSeq`. Cursors only move forward. */
  track(room: number, lastSeq: number, changeSeq = 0): void {
    const cursor = this.rooms.get(room);
    if (!cursor) {
      this.rooms.set(room, { lastSeq, changeSeq, outstanding: 0 });
      return;
    }
    cursor.lastSeq = Math.max(cursor.lastSeq, lastSeq);
    cursor.changeSeq = Math.max(cursor.changeSeq, changeSeq);
  }

  /** After a reset the app reloads the newest page: the cursor restarts from there. */
  retrack(room: number, lastSeq: number, changeSeq = 0): void {
    this.rooms.set(room, { lastSeq, changeSeq, outstanding: 0 });
  }

  untrack(room: number): void {
    this.rooms.delete(room);
  }

  tracks(room: number): boolean {
    return this.rooms.has(room);
  }

  cursor(room: number): Readonly<RoomCursor> | undefined {
    return this.rooms.get(room);
  }

  /** The socket (re)opened: the old socket's requests are gone; sync every tracked room. */
  onOpen(): void {
    for (const cursor of this.rooms.values()) cursor.outstanding = 0;
    for (const room of this.rooms.keys()) this.request(room);
  }

  request(room: number): void {
    const cursor = this.rooms.get(room);
    if (!cursor) return;
    const frame = { type: 'sync_request', room, last_seq: cursor.lastSeq } as const;
    const sent = this.sender.send(cursor.changeSeq > 0 ? { ...frame, since_change_seq: cursor.changeSeq } : frame);
    if (!sent) return;
    cursor.outstanding += 1;
    this.events.emit('requested', { room, lastSeq: cursor.lastSeq });
  }

  onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message_new':
        return this.onMessage(frame.message.room, frame.message.seq, frame.message.change_seq);
      case 'message_confirmed':
        return this.onMessage(frame.message.room, frame.message.seq, frame.message.change_seq);
      case 'message_updated':
        return this.onChange(frame.message.room, frame.message.change_seq);
      case 'sync_response':
        return this.onSyncResponse(frame);
      case 'connection_established':
        return this.onEstablished(frame.rooms);
      case 'resync':
        // The server could not deliver everything live: ask at once, even with a sync in flight
        // (that one may have been answered from before the loss). Rooms not tracked hold nothing to repair.
        return this.request(frame.room);
      default:
        return;
    }
  }

  private onMessage(room: number, seq: number, changeSeq: number): void {
    const cursor = this.rooms.get(room);
    if (!cursor) return;
    const gap = seq > cursor.lastSeq + 1;
    if (changeSeq) cursor.changeSeq = Math.max(cursor.changeSeq, changeSeq);
    if (gap && cursor.outstanding === 0) {
      // Ask from what we have; the response fills the hole and brings this message again (deduped).
      this.request(room);
      return;
    }
    if (!gap) cursor.lastSeq = Math.max(cursor.lastSeq, seq);
  }

  private onChange(room: number, changeSeq: number): void {
    const cursor = this.rooms.get(room);
    if (cursor && changeSeq) cursor.changeSeq = Math.max(cursor.changeSeq, changeSeq);
  }

  private onSyncResponse(frame: FrameOf<'sync_response'>): void {
    const cursor = this.rooms.get(frame.room);
    if (!cursor) return;
    cursor.outstanding = Math.max(0, cursor.outstanding - 1);
    if (frame.reset) {
      this.events.emit('reset', { room: frame.room });
      return;
    }
    for (const message of [...frame.messages, ...(frame.updated ?? [])]) {
      if (message.change_seq) cursor.changeSeq = Math.max(cursor.changeSeq, message.change_seq);
    }
    cursor.lastSeq = frame.messages.reduce((max, m) => Math.max(max, m.seq), cursor.lastSeq);
    // One follow-up chain: with another request still out, its answer decides. And guard against
    // a server that says has_more but sends nothing: that would loop forever.
    if (frame.has_more && frame.messages.length > 0 && cursor.outstanding === 0) this.request(frame.room);
  }

  /** On connect the server lists each room's last seq: any room ahead of us needs a sync. */
  private onEstablished(rooms: Array<{ room: number; last_seq: number }>): void {
    for (const { room, last_seq } of rooms) {
      const cursor = this.rooms.get(room);
      if (cursor && last_seq > cursor.lastSeq && cursor.outstanding === 0) this.request(room);
    }
  }
}
