/** Shapes of the public HTTP contract (docs/api.md); messages are the same objects the frames carry. */

export interface User {
  id: number;
  username: string;
}

export interface Member extends User {
  role: string;
  online: boolean;
  last_delivered_seq: number;
  last_read_seq: number;
}

export interface Reaction {
  emoji: string;
  count: number;
  users: number[];
}

export interface Message {
  id: number;
  room: number;
  seq: number;
  user: User;
  content: string;
  type: string;
  temp_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  reactions: Reaction[];
  version: number;
  change_seq: number;
}

export type RoomKind = 'direct' | 'group';

export interface Room {
  id: number;
  name: string;
  kind: RoomKind;
  members: Member[];
  last_message: Message | null;
  last_seq: number;
  unread_count: number;
  last_read_seq?: number;
  last_delivered_seq?: number;
  created_at?: string;
  /** This user muted the room's push notifications (the socket still delivers). */
  muted: boolean;
}

export interface AuthAnswer {
  token: string;
  user: User;
}

export interface HistoryPage {
  messages: Message[];
  has_more: boolean;
  cursor: number | null;
  has_more_before?: boolean;
  has_more_after?: boolean;
}

export type HistoryQuery =
  | { room: number; limit?: number }
  | { room: number; limit?: number; before: number }
  | { room: number; limit?: number; after: number }
  | { room: number; limit?: number; around: number };

export interface RumBatch {
  frame_rate?: number[];
  long_frames?: number[];
  send_visible?: number[];
}

/** What PushSubscription.toJSON() gives, as POST /api/push/subscriptions/ takes it. */
export interface PushSubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  user_agent?: string;
}

export interface PushSubscriptionAnswer {
  id: number;
  endpoint: string;
  created_at: string;
}

export interface RoomMuteAnswer {
  room: number;
  muted: boolean;
}
