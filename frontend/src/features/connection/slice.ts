import type { ConnectionState } from '../../lib/realtime/protocol';
import type { SliceCreator } from '../../app/storeTypes';

export interface ConnectionSlice {
  connection: ConnectionState;
  connectionError: string | null;
  setConnection: (state: ConnectionState) => void;
  setConnectionError: (error: string | null) => void;
}

export const createConnectionSlice: SliceCreator<ConnectionSlice> = (set) => ({
  connection: 'offline',
  connectionError: null,
  setConnection: (state) =>
    set((s) => {
      s.connection = state;
      if (state === 'online') s.connectionError = null;
    }),
  setConnectionError: (error) =>
    set((s) => {
      s.connectionError = error;
    }),
});
