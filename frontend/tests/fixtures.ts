import type { Member, Message, Room } from '../src/lib/api/types';

export const ME = { id: 1, username: 'nino' };
export const OTHER = { id: 2, username: 'giorgi' };
export const THIRD = { id: 3, username: 'ana' };

let nextId = 1000;

export function message(room: number, seq: number, over: Partial<Message> = {}): Message {
  return {
    id: over.id ?? ++nextId,
    room,
    seq,
    user: OTHER,
    content: `message ${seq}`,
    type: 'text',
    temp_id: null,
    created_at: new Date(Date.UTC(2026, 10, 24, 10, 0, seq)).toISOString(),
    edited_at: null,
    deleted: false,
    reactions: [],
    version: 1,
    change_seq: seq,
    ...over,
  };
}

export function member(user: { id: number; username: string }, over: Partial<Member> = {}): Member {
  return { ...user, role: 'member', online: false, last_delivered_seq: 0, last_read_seq: 0, ...over };
}

export function room(id: number, over: Partial<Room> = {}): Room {
  return {
    id,
    name: `room ${id}`,
    kind: 'group',
    members: [member(ME), member(OTHER), member(THIRD)],
    last_message: null,
    last_seq: 0,
    unread_count: 0,
    last_read_seq: 0,
    last_delivered_seq: 0,
    created_at: '2026-11-24T09:00:00Z',
    muted: false,
    ...over,
  };
}

export function page(messages: Message[], hasMore = false) {
  return { messages, has_more: hasMore, cursor: messages[0]?.id ?? null };
}
