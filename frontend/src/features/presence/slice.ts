import type { SliceCreator } from '../../app/storeTypes';

export interface PresenceSlice {
  /** user id -> online; seeded from room members, then moved by `user_presence` frames. */
  online: Record<number, boolean>;
  setPresence: (userId: number, online: boolean) => void;
}

export const createPresenceSlice: SliceCreator<PresenceSlice> = (set) => ({
  online: {},
  setPresence: (userId, online) =>
    set((s) => {
      s.online[userId] = online;
    }),
});
