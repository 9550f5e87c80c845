import type { Message, Room } from '../../lib/api/types';
import type { ChatState, SliceCreator } from '../../app/storeTypes';
import { toRoomEntry, type RoomEntry } from './watermarks';

export interface RoomsSlice {
  rooms: Record<number, RoomEntry>;
  roomsLoaded: boolean;
  activeRoomId: number | null;
  setRooms: (rooms: Room[]) => void;
  upsertRoom: (room: Room) => void;
  setActiveRoom: (roomId: number | null) => void;
  /** The server says a room has messages up to `lastSeq` (connection_established). */
  noteRoomSeq: (roomId: number, lastSeq: number) => void;
  /** This user's push mute of a room (features/rooms/mute.ts). */
  setRoomMuted: (roomId: number, muted: boolean) => void;
}

function seedPresence(s: ChatState, room: Room): void {
  for (const m of room.members) s.online[m.id] = Boolean(m.online);
}

export const createRoomsSlice: SliceCreator<RoomsSlice> = (set) => ({
  rooms: {},
  roomsLoaded: false,
  activeRoomId: null,
  setRooms: (rooms) =>
    set((s) => {
      const myId = s.me?.id ?? null;
      const next: Record<number, RoomEntry> = {};
      for (const room of rooms) {
        const entry = toRoomEntry(room, myId);
        const known = s.rooms[room.id];
        // Never move a watermark backwards because a list answer was older than a frame we applied.
        if (known) mergeForward(entry, known);
        next[room.id] = entry;
        seedPresence(s, room);
      }
      s.rooms = next;
      s.roomsLoaded = true;
    }),
  upsertRoom: (room) =>
    set((s) => {
      const entry = toRoomEntry(room, s.me?.id ?? null);
      const known = s.rooms[room.id];
      if (known) mergeForward(entry, known);
      s.rooms[room.id] = entry;
      seedPresence(s, room);
    }),
  setActiveRoom: (roomId) =>
    set((s) => {
      s.activeRoomId = roomId;
    }),
  noteRoomSeq: (roomId, lastSeq) =>
    set((s) => {
      const room = s.rooms[roomId];
      if (room) room.last_seq = Math.max(room.last_seq, lastSeq);
    }),
  setRoomMuted: (roomId, muted) =>
    set((s) => {
      const room = s.rooms[roomId];
      if (room) room.muted = muted;
    }),
});

function mergeForward(entry: RoomEntry, known: RoomEntry): void {
  entry.last_seq = Math.max(entry.last_seq, known.last_seq);
  entry.my_read_seq = Math.max(entry.my_read_seq, known.my_read_seq);
  entry.my_delivered_seq = Math.max(entry.my_delivered_seq, known.my_delivered_seq);
  entry.others_read_seq = Math.max(entry.others_read_seq, known.others_read_seq);
  entry.others_delivered_seq = Math.max(entry.others_delivered_seq, known.others_delivered_seq);
  if (known.last_message && (!entry.last_message || known.last_message.seq > entry.last_message.seq)) {
    entry.last_message = known.last_message;
  }
}

/** Keep the sidebar's last message and the room's seq current as messages arrive. */
export function noteMessageInRoom(room: RoomEntry, message: Message): void {
  room.last_seq = Math.max(room.last_seq, message.seq);
  if (!room.last_message || message.seq >= room.last_message.seq) room.last_message = message;
}
