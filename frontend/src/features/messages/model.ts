import type { Message, Reaction, User } from '../../lib/api/types';

export type LocalState = 'pending' | 'failed';

/**
 * A message as the store keeps it: the server fields plus a stable `key` (the temp_id when there is
 * one, so a pending row keeps its React key when confirmed) and `local` for unconfirmed sends.
 * Pending messages have no id or seq yet.
 */
export interface ChatMessage {
  key: string;
  id: number | null;
  room: number;
  seq: number | null;
  user: User;
  content: string;
  type: string;
  temp_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  reactions: readonly Reaction[];
  version: number;
  change_seq: number;
  local: LocalState | null;
  error?: string;
}

const NO_REACTIONS: readonly Reaction[] = Object.freeze([]);
const users = new Map<number, User>();

/** One shared object per user instead of one per message: 10,000 messages by 5 people hold 5 users. */
export function internUser(user: User): User {
  const known = users.get(user.id);
  if (known && known.username === user.username) return known;
  const fresh = Object.freeze({ id: user.id, username: user.username });
  users.set(user.id, fresh);
  return fresh;
}

export function keyOf(message: Pick<Message, 'id' | 'temp_id'>): string {
  return message.temp_id ?? `#${message.id}`;
}

/** Copy only the fields the app uses, sharing user objects and the empty reaction list. */
export function fromServer(message: Message, key = keyOf(message)): ChatMessage {
  return {
    key,
    id: message.id,
    room: message.room,
    seq: message.seq,
    user: internUser(message.user),
    content: message.content,
    type: message.type,
    temp_id: message.temp_id ?? null,
    created_at: message.created_at,
    edited_at: message.edited_at ?? null,
    deleted: Boolean(message.deleted),
    reactions: message.reactions?.length ? message.reactions : NO_REACTIONS,
    version: message.version ?? 0,
    change_seq: message.change_seq ?? 0,
    local: null,
  };
}

export function pendingMessage(room: number, tempId: string, content: string, user: User, createdAt: string): ChatMessage {
  return {
    key: tempId,
    id: null,
    room,
    seq: null,
    user: internUser(user),
    content,
    type: 'text',
    temp_id: tempId,
    created_at: createdAt,
    edited_at: null,
    deleted: false,
    reactions: NO_REACTIONS,
    version: 0,
    change_seq: 0,
    local: 'pending',
  };
}
