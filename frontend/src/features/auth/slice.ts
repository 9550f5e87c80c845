import type { User } from '../../lib/api/types';
import type { SliceCreator } from '../../app/storeTypes';

export type AuthStatus = 'unknown' | 'anonymous' | 'authenticated';

export interface AuthSlice {
  me: User | null;
  authStatus: AuthStatus;
  setMe: (user: User | null) => void;
}

export const createAuthSlice: SliceCreator<AuthSlice> = (set) => ({
  me: null,
  authStatus: 'unknown',
  setMe: (user) =>
    set((s) => {
      s.me = user;
      s.authStatus = user ? 'authenticated' : 'anonymous';
    }),
});
