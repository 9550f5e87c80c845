import type { ServerFrame } from '../lib/realtime/protocol';
import type { ReceiptSender } from '../features/receipts/sender';
import type { TypingExpiry } from '../features/typing/effects';
import type { ChatStore } from './store';

export interface FrameContext {
  store: ChatStore;
  receipts: ReceiptSender;
  typing: TypingExpiry;
  refreshRooms: () => void;
  /** Whether the sync keeps a cursor for this room (its messages are loaded). */
  isTracked: (room: number) => boolean;
}

/** Tell the server the newest message of a room has reached this device. */
function acknowledgeDelivery(ctx: FrameContext, room: number, messageId: number, seq: number, senderId: number): void {
  const state = ctx.store.getState();
  if (senderId === state.me?.id) return;
  if (seq > (state.rooms[room]?.my_delivered_seq ?? 0)) ctx.receipts.mark('delivered', room, messageId, seq);
}

/**
 * Put one server frame into the store (and the side effects that follow from it). Runs after the
 * sync and the outbox have seen the frame (app/session.ts): a pending message's state is the
 * outbox's, so `message_failed` and `error` are not handled here.
 */
export function applyFrame(ctx: FrameContext, frame: ServerFrame): void {
  const state = ctx.store.getState();
  switch (frame.type) {
    case 'connection_established': {
      const ahead = frame.rooms.filter(({ room, last_seq }) => !state.rooms[room] || last_seq > state.rooms[room]!.last_seq);
      for (const { room, last_seq } of frame.rooms) state.noteRoomSeq(room, last_seq);
      if (ahead.length) ctx.refreshRooms(); // unknown rooms, or new last messages for the sidebar
      return;
    }
    case 'message_confirmed':
      return state.confirmMessage(frame.temp_id, frame.message);
    case 'message_new': {
      const m = frame.message;
      if (!state.rooms[m.room]) ctx.refreshRooms();
      state.receiveMessage(m);
      return acknowledgeDelivery(ctx, m.room, m.id, m.seq, m.user.id);
    }
    case 'message_updated':
      return state.updateMessage(frame.message);
    case 'typing':
      if (frame.user_id !== state.me?.id) ctx.typing.onFrame(frame.room, frame.user_id, frame.username, frame.is_typing);
      return;
    case 'user_presence':
      return state.setPresence(frame.user_id, frame.status === 'online');
    case 'receipt':
      return state.applyReceipt(frame.room, frame.user_id, frame.kind, frame.seq);
    case 'sync_response': {
      if (frame.reset) return; // the SyncCoordinator's reset event reloads the newest page
      state.applySync(frame);
      const newest = frame.messages[frame.messages.length - 1];
      if (newest) acknowledgeDelivery(ctx, frame.room, newest.id, newest.seq, newest.user.id);
      return;
    }
    case 'room_added':
      return state.upsertRoom(frame.room);
    case 'room_removed':
      return ctx.refreshRooms(); // this user left or was removed: the room goes from the sidebar
    case 'resync':
      // A tracked room is synced by the SyncCoordinator; for the others only the sidebar's last
      // message and unread count can be stale, and the room list brings them.
      if (!ctx.isTracked(frame.room)) ctx.refreshRooms();
      return;

    default:
      return;
  }
}
