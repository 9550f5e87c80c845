import type { Member } from '../../lib/api/types';
import type { RoomEntry } from './watermarks';

/** A direct room is named after the other person; a group by its own name. */
export function roomTitle(room: Pick<RoomEntry, 'kind' | 'name' | 'members'>, myId: number | null): string {
  if (room.kind === 'direct') {
    const other = room.members.find((m) => m.id !== myId);
    if (other) return other.username;
  }
  return room.name || room.members.map((m) => m.username).join(', ');
}

export function otherMembers(room: Pick<RoomEntry, 'members'>, myId: number | null): Member[] {
  return room.members.filter((m) => m.id !== myId);
}

export function initials(name: string): string {
  // Array.from keeps astral characters whole; no case mapping (Georgian has none to spare).
  return Array.from(name.trim())[0] ?? '?';
}
