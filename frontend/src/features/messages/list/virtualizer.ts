import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { useCallback, useRef, type RefObject } from 'react';
import { keyAt, type Timeline } from '../timeline';

/** Within this distance of the bottom the reader is "at the end": new messages are followed. */
export const NEAR_END_PX = 80;

export type MessageVirtualizer = Virtualizer<HTMLDivElement, Element>;

/**
 * The virtualizer's own scrollToFn writes `lastSeenOffset + correction`. A correction (rows above
 * measured, an older page prepended) often runs in a ResizeObserver callback of the same frame in
 * which the reader, or a momentum scroller, has just moved the list, before the scroll event told
 * the virtualizer: that write undid the scroll and the list juddered back. Apply corrections to the
 * live position instead; plain jumps (scrollToIndex / scrollToEnd) stay absolute.
 */
function scrollWithLiveAdjustments(
  offset: number,
  { adjustments = 0, behavior }: { adjustments?: number; behavior?: ScrollBehavior },
  instance: { scrollElement: HTMLDivElement | null },
): void {
  const el = instance.scrollElement;
  if (!el) return;
  if (adjustments !== 0 && behavior !== 'smooth') el.scrollTop += adjustments;
  else el.scrollTo({ top: offset + adjustments, behavior });
}

/**
 * Only visible rows plus overscan are in the DOM. Anchored to the end: prepending an older page
 * keeps the first visible message where it is, and new messages are followed only while the
 * reader is at the bottom.
 */
export function useMessageVirtualizer(
  roomId: number,
  timeline: Timeline | undefined,
  scrollRef: RefObject<HTMLDivElement | null>,
): MessageVirtualizer {
  const layout = timeline?.layout ?? -1;
  // The timeline this render shows, for the virtualizer's key lookups (they run inside its calls).
  const timelineRef = useRef(timeline);
  timelineRef.current = timeline;
  // Stable while the sequence of keys is (an edit, a reaction, a confirmation that keeps its row):
  // the virtualizer then keeps its measurements instead of rebuilding all of them.
  const getItemKey = useCallback((index: number) => keyAt(timelineRef.current!, index)!, [layout, roomId]);
  const virtualizer = useVirtualizer({
    count: timeline?.count ?? 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 64,
    overscan: 10,
    getItemKey,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: NEAR_END_PX,
    paddingStart: 12,
    paddingEnd: 12,
    scrollToFn: scrollWithLiveAdjustments,
  });

  // A row above the viewport that changes height (the oldest loaded row loses its author line when
  // the older page shows the same author before it; a reaction; a late font) must not move what the
  // reader looks at. The library's default skips re-measured rows while scrolling up, which is
  // exactly when older pages come in: keep the content below the row still in every direction.
  virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, instance) =>
    item.start < (instance.scrollOffset ?? 0);
  return virtualizer;
}
