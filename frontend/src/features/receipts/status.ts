import type { RoomEntry } from '../rooms/watermarks';

export type MessageStatus = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

/** What the tick needs of a row (a ChatMessage fits; receipts does not depend on messages). */
export interface TickedMessage {
  local: 'pending' | 'failed' | null;
  seq: number | null;
  user: { id: number };
}

/** The tick for a row: own messages go sent -> delivered -> read by the other members' watermarks. */
export function messageStatus(
  message: TickedMessage,
  room: Pick<RoomEntry, 'others_read_seq' | 'others_delivered_seq'> | undefined,
  myId: number | null,
): MessageStatus {
  if (message.local) return message.local;
  if (message.user.id !== myId || !room || message.seq === null) return 'sent';
  if (room.others_read_seq >= message.seq) return 'read';
  if (room.others_delivered_seq >= message.seq) return 'delivered';
  return 'sent';
}
