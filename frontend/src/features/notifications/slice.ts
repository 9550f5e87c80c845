import type { SliceCreator } from '../../app/storeTypes';
import { INITIAL_PUSH_STATE, type PushState } from './push';

export interface NotificationsSlice {
  /** The "Notifications" toggle of this device (push.ts's state machine writes it). */
  push: PushState;
  setPush: (state: PushState) => void;
}

export const createNotificationsSlice: SliceCreator<NotificationsSlice> = (set) => ({
  push: INITIAL_PUSH_STATE,
  setPush: (state) =>
    set((s) => {
      s.push = state;
    }),
});
