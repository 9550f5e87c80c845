/**
 * WebSocket frames as the server builds them (chat/frames.py) on the all-rooms socket `/ws/chat/`;
 * docs/protocol.md describes each. tests/generated/serverFrames.ts holds one sample of every
 * server frame, written by the Python frame test and type-checked against ServerFrame by
 * `npm test`, so a drift between the two sides fails a test.
 */
import type { Message, Room } from '../api/types';

export type ClientFrame =
  | { type: 'message_send'; room: number; content: string; temp_id: string; message_type?: string }
  | { type: 'message_edit'; message_id: number; content: string }
  | { type: 'message_delete'; message_id: number }
  | { type: 'reaction'; message_id: number; emoji: string; action: 'add' | 'remove' }
  | { type: 'typing'; room: number; is_typing: boolean }
  | { type: 'mark_delivered'; room: number; message_id: number }
  | { type: 'mark_read'; room: number; message_id: number }
  | { type: 'sync_request'; room: number; last_seq: number; since_change_seq?: number }
  | { type: 'ping' };

export interface RoomCursorFrame {
  room: number;
  last_seq: number;
}

/** Why the server asks for a `resync`: a seq gap it could not repair, its fan-out was unavailable, or its buffer overflowed. */
export type ResyncReason = 'gap' | 'unavailable' | 'overflow';

export type ServerFrame =
  | { type: 'connection_established'; user_id: number; room_id: number | null; last_message_id: number | null; rooms: RoomCursorFrame[] }
  | { type: 'message_pending'; temp_id: string; status: 'sending' }
  | { type: 'message_confirmed'; temp_id: string; message: Message }
  | { type: 'message_failed'; temp_id: string; error: string; code: string }
  | { type: 'message_new'; message: Message }
  | { type: 'message_updated'; message: Message }
  | { type: 'typing'; room: number; user_id: number; username: string; is_typing: boolean }
  | { type: 'user_presence'; user_id: number; username: string; status: 'online' | 'offline'; room?: number }
  | { type: 'receipt'; room: number; user_id: number; kind: 'delivered' | 'read'; message_id: number; seq: number }
  | { type: 'sync_response'; room: number; messages: Message[]; updated: Message[]; has_more: boolean; reset: boolean; last_seq: number }
  | { type: 'room_added'; room: Room }
  | { type: 'room_removed'; room: number; user_id: number }
  | { type: 'resync'; room: number; reason: ResyncReason }
  | { type: 'error'; message: string; code: string; temp_id?: string; field?: string }
  | { type: 'pong' };

export type ServerFrameType = ServerFrame['type'];
export type FrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

export type ConnectionState = 'online' | 'connecting' | 'offline';

/** Close codes with a meaning of their own (docs/protocol.md). */
export const CLOSE_UNAUTHENTICATED = 4001;
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_POLICY = 4008;
/** No such WebSocket path. */
export const CLOSE_NOT_FOUND = 4004;
/** This user has the most sockets the server allows open (every tab counts): retry much later. */
export const CLOSE_TOO_MANY_SOCKETS = 4029;
/** The server is restarting, or its channel layer failed: reconnect with backoff, then sync. */
export const CLOSE_SERVICE_RESTART = 1012;
/** Try again later: the server closed a socket that did not read its frames. Handled like 1012. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== 'string') return null;
  try {
    const frame = JSON.parse(data) as { type?: unknown };
    return frame && typeof frame.type === 'string' ? (frame as ServerFrame) : null;
  } catch {
    return null;
  }
}
