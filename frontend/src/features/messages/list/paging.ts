import { useCallback } from 'react';
import { useServices } from '../../../app/SessionContext';
import { chatStore } from '../../../app/store';
import type { ListPosition } from './position';
import type { MessageVirtualizer } from './virtualizer';

/** Ask for the next page this many rows before the edge is rendered, so a fast scroll rarely waits. */
const PAGE_TRIGGER_ROWS = 40;

/** Load the older (or, after a jump, newer) page when the rendered range nears that edge. */
export function usePaging(roomId: number, position: ListPosition, virtualizer: MessageVirtualizer): () => void {
  const { session } = useServices();
  return useCallback(() => {
    const t = chatStore.getState().timelines[roomId];
    const items = virtualizer.getVirtualItems();
    if (!t || !position.positioned || items.length === 0) return;
    if (items[0]!.index < PAGE_TRIGGER_ROWS && t.hasMoreBefore && !t.loadingOlder) void session.loader.loadOlder(roomId).catch(() => undefined);
    if (items[items.length - 1]!.index >= t.count - PAGE_TRIGGER_ROWS && t.hasMoreAfter && !t.loadingNewer)
      void session.loader.loadNewer(roomId).catch(() => undefined);
  }, [roomId, session, virtualizer, position]);
}
