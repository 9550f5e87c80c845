import { Spin } from 'antd';
import { useCallback, useEffect, useRef } from 'react';
import { useServices } from '../../../app/SessionContext';
import { useChat } from '../../../app/store';
import { messageStatus } from '../../receipts/status';
import { messageAt } from '../timeline';
import { MessageRow, RowActionsContext } from './MessageRow';
import { NewMessagesPill, useNewMessages } from './NewMessagesPill';
import { usePaging } from './paging';
import { useInitialPosition, useListPosition } from './position';
import { useRowActions } from './RowDialogs';
import { useReadMarker } from './useReadMarker';
import { NEAR_END_PX, useMessageVirtualizer } from './virtualizer';

interface Props {
  roomId: number;
  focusMessageId: number | null;
}

/**
 * The open room's messages: the virtualized rows (virtualizer.ts), the first position
 * (position.ts), paging at the edges (paging.ts), the new-messages pill, the read marker and the
 * row dialogs, each in its own module.
 */
export function MessageList({ roomId, focusMessageId }: Props) {
  const { rum } = useServices();
  const timeline = useChat((s) => s.timelines[roomId]);
  const room = useChat((s) => s.rooms[roomId]);
  const myId = useChat((s) => s.me?.id ?? 0);
  const count = timeline?.count ?? 0;
  const scrollRef = useRef<HTMLDivElement>(null);
  const position = useListPosition();
  const { actions, dialogs } = useRowActions(myId);

  const virtualizer = useMessageVirtualizer(roomId, timeline, scrollRef);
  const markRead = useReadMarker(roomId, virtualizer, scrollRef);
  const loadMoreIfNearEdge = usePaging(roomId, position, virtualizer);
  useInitialPosition(position, timeline, focusMessageId, virtualizer);
  const { unseen, seenAll, jumpToNewest } = useNewMessages(roomId, timeline, myId, position, virtualizer);

  const onScroll = useCallback(() => {
    const el = scrollRef.current!;
    position.atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_END_PX;
    if (position.atEnd) seenAll();
    rum.sampler.onScroll();
  }, [rum, position, seenAll]);

  // Driven by the rendered range (not the scroll event, which can fire before the virtualizer has
  // read the new offset): page in when the first or last rows come into range, mark what is seen.
  const items = virtualizer.getVirtualItems();
  const firstIndex = items[0]?.index ?? -1;
  const lastIndex = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    loadMoreIfNearEdge();
    markRead();
  }, [firstIndex, lastIndex, timeline?.layout, timeline?.loadingOlder, timeline?.loadingNewer, loadMoreIfNearEdge, markRead]);

  return (
    <RowActionsContext.Provider value={actions}>
      <div className="message-list-wrap">
        {timeline?.loadingOlder && <Spin size="small" className="older-spinner" />}
        <div ref={scrollRef} className="message-list" data-testid="message-list" onScroll={onScroll}>
          <div className="message-list-sizer" style={{ height: virtualizer.getTotalSize() }}>
            <div className="message-list-rows" style={{ transform: `translateY(${items[0]?.start ?? 0}px)` }}>
              {items.map((item) => {
                const message = messageAt(timeline!, item.index)!;
                const previous = messageAt(timeline!, item.index - 1);
                return (
                  <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="message-slot">
                    <MessageRow
                      message={message}
                      status={messageStatus(message, room, myId)}
                      mine={message.user.id === myId}
                      myId={myId}
                      showAuthor={previous?.user.id !== message.user.id}
                      highlighted={message.id !== null && message.id === focusMessageId}
                    />
                  </div>
                );
              })}
            </div>
          </div>
          {timeline?.loaded && count === 0 && <div className="empty-room">No messages yet. Say hello!</div>}
        </div>
        <NewMessagesPill unseen={unseen} onClick={jumpToNewest} />
      </div>
      {dialogs}
    </RowActionsContext.Provider>
  );
}
