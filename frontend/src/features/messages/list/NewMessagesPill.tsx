import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import { lastIndexOfKey, messageAt, type Timeline } from '../timeline';
import type { ListPosition } from './position';
import type { MessageVirtualizer } from './virtualizer';

/**
 * New rows at the end: our own send always scrolls down; others' count towards the pill while the
 * reader is scrolled up. Returns the count and how to clear it.
 */
export function useNewMessages(
  roomId: number,
  timeline: Timeline | undefined,
  myId: number,
  position: ListPosition,
  virtualizer: MessageVirtualizer,
) {
  const [unseen, setUnseen] = useState(0);
  // The timeline this render shows; the effect runs on layout changes only.
  const timelineRef = useRef(timeline);
  timelineRef.current = timeline;
  const layout = timeline?.layout ?? -1;

  useLayoutEffect(() => {
    const t = timelineRef.current;
    const message = t ? messageAt(t, t.count - 1) : undefined;
    const last = message?.key;
    const previous = position.lastKey;
    if (!position.positioned || last === previous) return;
    position.lastKey = last;
    if (!t || !message) return;
    if (message.user.id === myId && message.local) {
      virtualizer.scrollToEnd();
      return;
    }
    if (position.atEnd) return;
    const from = previous === undefined ? -1 : lastIndexOfKey(t, previous);
    let added = 0;
    for (let i = from + 1; i < t.count; i++) if (messageAt(t, i)!.user.id !== myId) added++;
    setUnseen((n) => n + added);
  }, [layout, roomId, myId, virtualizer, position]);

  const jumpToNewest = () => {
    setUnseen(0);
    position.atEnd = true;
    virtualizer.scrollToEnd();
  };
  const seenAll = useCallback(() => setUnseen(0), []);
  return { unseen, seenAll, jumpToNewest };
}

export function NewMessagesPill({ unseen, onClick }: { unseen: number; onClick: () => void }) {
  if (unseen <= 0) return null;
  return (
    <button type="button" className="new-messages-pill" data-testid="new-messages-pill" onClick={onClick}>
      {unseen === 1 ? '1 new message' : `${unseen} new messages`} ↓
    </button>
  );
}
