import type { SliceCreator } from '../../app/storeTypes';

export interface TypingSlice {
  /** room -> user id -> username of members typing now. Expiry timers live in typing/effects. */
  typing: Record<number, Record<number, string>>;
  setTyping: (room: number, userId: number, username: string, isTyping: boolean) => void;
}

export const createTypingSlice: SliceCreator<TypingSlice> = (set) => ({
  typing: {},
  setTyping: (room, userId, username, isTyping) =>
    set((s) => {
      const inRoom = (s.typing[room] ??= {});
      if (isTyping) inRoom[userId] = username;
      else delete inRoom[userId];
    }),
});
