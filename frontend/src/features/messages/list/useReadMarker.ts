import { useCallback, useEffect, type RefObject } from 'react';
import { useServices } from '../../../app/SessionContext';
import { chatStore } from '../../../app/store';
import { messageAt } from '../timeline';
import type { MessageVirtualizer } from './virtualizer';

/** Part of a row that must be on screen before it counts as seen. */
const SEEN_PX = 16;

function pageIsWatched(): boolean {
  return document.visibilityState === 'visible' && document.hasFocus();
}

/**
 * Marks read the newest message that is on screen while the window has focus. Only forward:
 * the receipt sender drops anything at or below what it sent and throttles the rest.
 */
export function useReadMarker(
  roomId: number,
  virtualizer: MessageVirtualizer,
  scrollRef: RefObject<HTMLDivElement | null>,
): () => void {
  const { session } = useServices();

  const markRead = useCallback(() => {
    const el = scrollRef.current;
    const state = chatStore.getState();
    const t = state.timelines[roomId];
    const room = state.rooms[roomId];
    if (!el || !t || !room || !state.me || !pageIsWatched()) return;
    const bottom = el.scrollTop + el.clientHeight;
    const items = virtualizer.getVirtualItems();
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.start + Math.min(item.size, SEEN_PX) > bottom) continue;
      const message = messageAt(t, item.index);
      if (!message || message.seq === null || message.id === null) continue;
      if (message.seq <= room.my_read_seq) return;
      state.applyReceipt(roomId, state.me.id, 'read', message.seq);
      session.receipts.mark('read', roomId, message.id, message.seq);
      return;
    }
  }, [roomId, scrollRef, session, virtualizer]);

  useEffect(() => {
    window.addEventListener('focus', markRead);
    document.addEventListener('visibilitychange', markRead);
    return () => {
      window.removeEventListener('focus', markRead);
      document.removeEventListener('visibilitychange', markRead);
    };
  }, [markRead]);

  return markRead;
}
