import type { Room } from '../../lib/api/types';

export type ReceiptKind = 'delivered' | 'read';

/**
 * A room as the store keeps it. Besides the server fields it carries our own watermarks and the
 * highest watermark of any OTHER member, so a row's tick is one number comparison.
 */
export interface RoomEntry extends Room {
  my_read_seq: number;
  my_delivered_seq: number;
  others_read_seq: number;
  others_delivered_seq: number;
}

export function toRoomEntry(room: Room, myId: number | null): RoomEntry {
  const me = room.members.find((m) => m.id === myId);
  const myRead = room.last_read_seq ?? me?.last_read_seq ?? Math.max(0, room.last_seq - (room.unread_count ?? 0));
  const entry: RoomEntry = {
    ...room,
    my_read_seq: myRead,
    my_delivered_seq: Math.max(room.last_delivered_seq ?? me?.last_delivered_seq ?? 0, myRead),
    others_read_seq: 0,
    others_delivered_seq: 0,
  };
  recomputeOthers(entry, myId);
  return entry;
}

export function recomputeOthers(room: RoomEntry, myId: number | null): void {
  let read = 0;
  let delivered = 0;
  for (const m of room.members) {
    if (m.id === myId) continue;
    read = Math.max(read, m.last_read_seq ?? 0);
    delivered = Math.max(delivered, m.last_delivered_seq ?? 0, m.last_read_seq ?? 0);
  }
  room.others_read_seq = read;
  room.others_delivered_seq = delivered;
}

/** Watermarks only move forward; reading implies delivery. */
export function moveWatermark(room: RoomEntry, userId: number, kind: ReceiptKind, seq: number, myId: number | null): void {
  if (userId === myId) {
    if (kind === 'read') room.my_read_seq = Math.max(room.my_read_seq, seq);
    room.my_delivered_seq = Math.max(room.my_delivered_seq, seq);
  }
  const member = room.members.find((m) => m.id === userId);
  if (member) {
    if (kind === 'read') member.last_read_seq = Math.max(member.last_read_seq ?? 0, seq);
    member.last_delivered_seq = Math.max(member.last_delivered_seq ?? 0, seq);
  }
  if (userId !== myId) {
    if (kind === 'read') room.others_read_seq = Math.max(room.others_read_seq, seq);
    room.others_delivered_seq = Math.max(room.others_delivered_seq, seq);
  }
}

export function unreadCount(room: Pick<RoomEntry, 'last_seq' | 'my_read_seq'>): number {
  return Math.max(0, room.last_seq - room.my_read_seq);
}
