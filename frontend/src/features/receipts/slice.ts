import type { SliceCreator } from '../../app/storeTypes';
import { moveWatermark, type ReceiptKind } from '../rooms/watermarks';

export interface ReceiptsSlice {
  applyReceipt: (room: number, userId: number, kind: ReceiptKind, seq: number) => void;
}

export const createReceiptsSlice: SliceCreator<ReceiptsSlice> = (set) => ({
  applyReceipt: (roomId, userId, kind, seq) =>
    set((s) => {
      const room = s.rooms[roomId];
      if (room) moveWatermark(room, userId, kind, seq, s.me?.id ?? null);
    }),
});
