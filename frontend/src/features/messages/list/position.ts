import { useLayoutEffect, useRef } from 'react';
import { indexOfId, keyAt, type Timeline } from '../timeline';
import type { MessageVirtualizer } from './virtualizer';

/**
 * Where the reader is, shared by the list's hooks. Plain mutable fields, not React state:
 * changing them must not render.
 */
export interface ListPosition {
  /** The first position (newest message, or the one jumped to) has been taken. */
  positioned: boolean;
  /** The reader is within NEAR_END_PX of the bottom. */
  atEnd: boolean;
  /** Key of the last row when the list last looked: rows after it are new. */
  lastKey: string | undefined;
}

export function useListPosition(): ListPosition {
  return useRef<ListPosition>({ positioned: false, atEnd: true, lastKey: undefined }).current;
}

/** First paint of a loaded room: at the newest message, or at the message we jumped to. */
export function useInitialPosition(
  position: ListPosition,
  timeline: Timeline | undefined,
  focusMessageId: number | null,
  virtualizer: MessageVirtualizer,
): void {
  const count = timeline?.count ?? 0;
  useLayoutEffect(() => {
    if (position.positioned || !timeline?.loaded || count === 0) return;
    const focusIndex = focusMessageId !== null ? indexOfId(timeline, focusMessageId) : -1;
    if (focusMessageId !== null && focusIndex < 0) return; // the around page is on its way
    position.positioned = true;
    position.lastKey = keyAt(timeline, count - 1);
    if (focusIndex >= 0) {
      position.atEnd = false;
      virtualizer.scrollToIndex(focusIndex, { align: 'center' });
    } else virtualizer.scrollToEnd();
  }, [position, timeline, count, focusMessageId, virtualizer]);
}
