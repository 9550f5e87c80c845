import type { ChatMessage } from '../messages/model';
import type { RoomEntry } from './watermarks';

export type MessageStatus = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

/** The tick for a row: own messages go sent -> delivered -> read by the other members' watermarks. */
export function messageStatus(
  message: Pick<ChatMessage, 'local' | 'seq' | 'user'>,
  room: Pick<RoomEntry, 'others_read_seq' | 'others_delivered_seq'> | undefined,
  myId: number | null,
): MessageStatus {
  if (message.local) return message.local;
  if (message.user.id !== myId || !room || message.seq === null) return 'sent';
  if (room.others_read_seq >= message.seq) return 'read';
  if (room.others_delivered_seq >= message.seq) return 'delivered';
  return 'sent';
}
