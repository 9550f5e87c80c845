import { useVirtualizer } from '@tanstack/react-virtual';
import { App, Input, Modal, Spin } from 'antd';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useServices } from '../../app/SessionContext';
import { chatStore, useChat } from '../../app/store';
import { messageStatus } from '../receipts/status';
import { deleteMessage, discardSend, editMessage, retrySend, toggleReaction } from './actions';
import type { ChatMessage } from './model';
import { MessageRow, RowActionsContext, type RowActions } from './MessageRow';
import { indexOfId, keyAt, lastIndexOfKey, messageAt } from './timeline';
import { useReadMarker } from './useReadMarker';

const NEAR_END_PX = 80;
/** Ask for the next page this many rows before the edge is rendered, so a fast scroll rarely waits. */
const PAGE_TRIGGER_ROWS = 40;

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

interface Props {
  roomId: number;
  focusMessageId: number | null;
}

/**
 * The edit dialog, in its own component: the list re-renders on every new message, and an antd
 * Modal (even closed) costs a few hundred microseconds of style hooks per render.
 */
const EditDialog = memo(function EditDialog({ editing, onClose }: { editing: ChatMessage | null; onClose: () => void }) {
  const services = useServices();
  const { message: toast } = App.useApp();
  const [draft, setDraft] = useState('');
  useEffect(() => setDraft(editing?.content ?? ''), [editing]);
  const saveEdit = () => {
    const content = draft.trim();
    if (editing && content && content !== editing.content)
      void editMessage(services, editing, content).catch(() => toast.error('That did not go through. Try again.'));
    onClose();
  };
  return (
    <Modal title="Edit message" open={editing !== null} onOk={saveEdit} onCancel={onClose} okText="Save" destroyOnHidden>
      <Input.TextArea data-testid="message-edit-input" value={draft} onChange={(e) => setDraft(e.target.value)} autoSize={{ minRows: 2, maxRows: 8 }} />
    </Modal>
  );
});

/** Row callbacks plus the edit dialog they open. One object for all rows. */
function useRowActions(myId: number) {
  const services = useServices();
  const { modal, message: toast } = App.useApp();
  const [editing, setEditing] = useState<ChatMessage | null>(null);
  const fail = useCallback(() => toast.error('That did not go through. Try again.'), [toast]);
  const closeEdit = useCallback(() => setEditing(null), []);
  const actions = useMemo<RowActions>(
    () => ({
      react: (m, emoji) => void toggleReaction(services, m, emoji, myId).catch(fail),
      edit: (m) => setEditing(m),
      remove: (m) =>
        modal.confirm({
          title: 'Delete this message?',
          content: 'It is removed for everyone in the conversation.',
          okText: 'Delete',
          okButtonProps: { danger: true },
          onOk: () => deleteMessage(services, m).catch(fail),
        }),
      retry: (tempId) => retrySend(services, tempId),
      discard: (tempId) => discardSend(services, tempId),
    }),
    [services, myId, modal, fail],
  );
  const editDialog = <EditDialog editing={editing} onClose={closeEdit} />;
  return { actions, editDialog };
}

/**
 * The virtualized message list: only visible rows plus overscan are in the DOM. The virtualizer
 * anchors to the end: prepending an older page keeps the first visible message where it is, and new
 * messages are followed only while the reader is at the bottom.
 */
export function MessageList({ roomId, focusMessageId }: Props) {
  const { session, rum } = useServices();
  const timeline = useChat((s) => s.timelines[roomId]);
  const room = useChat((s) => s.rooms[roomId]);
  const myId = useChat((s) => s.me?.id ?? 0);
  const count = timeline?.count ?? 0;
  const layout = timeline?.layout ?? -1;
  // The timeline this render shows, for the virtualizer's key lookups (they run inside its calls).
  const timelineRef = useRef(timeline);
  timelineRef.current = timeline;
  const scrollRef = useRef<HTMLDivElement>(null);
  const atEndRef = useRef(true);
  const positionedRef = useRef(false);
  const lastKeyRef = useRef<string | undefined>(undefined);
  const [unseen, setUnseen] = useState(0);
  const { actions, editDialog } = useRowActions(myId);

  // Stable while the sequence of keys is (an edit, a reaction, a confirmation that keeps its row):
  // the virtualizer then keeps its measurements instead of rebuilding all of them.
  const getItemKey = useCallback((index: number) => keyAt(timelineRef.current!, index)!, [layout, roomId]);
  const virtualizer = useVirtualizer({
    count,
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

  const markRead = useReadMarker(roomId, virtualizer, scrollRef);

  const loadMoreIfNearEdge = useCallback(() => {
    const t = chatStore.getState().timelines[roomId];
    const items = virtualizer.getVirtualItems();
    if (!t || !positionedRef.current || items.length === 0) return;
    if (items[0]!.index < PAGE_TRIGGER_ROWS && t.hasMoreBefore && !t.loadingOlder) void session.loader.loadOlder(roomId).catch(() => undefined);
    if (items[items.length - 1]!.index >= t.count - PAGE_TRIGGER_ROWS && t.hasMoreAfter && !t.loadingNewer)
      void session.loader.loadNewer(roomId).catch(() => undefined);
  }, [roomId, session, virtualizer]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current!;
    atEndRef.current = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_END_PX;
    if (atEndRef.current) setUnseen(0);
    rum.sampler.onScroll();
  }, [rum]);

  // First paint of a loaded room: at the newest message, or at the message we jumped to.
  useLayoutEffect(() => {
    if (positionedRef.current || !timeline?.loaded || count === 0) return;
    const focusIndex = focusMessageId !== null ? indexOfId(timeline, focusMessageId) : -1;
    if (focusMessageId !== null && focusIndex < 0) return; // the around page is on its way
    positionedRef.current = true;
    lastKeyRef.current = keyAt(timeline, count - 1);
    if (focusIndex >= 0) {
      atEndRef.current = false;
      virtualizer.scrollToIndex(focusIndex, { align: 'center' });
    } else virtualizer.scrollToEnd();
  }, [timeline, count, focusMessageId, virtualizer]);

  // New rows at the end: our own send always scrolls down; others' count towards the pill.
  useLayoutEffect(() => {
    const t = timelineRef.current;
    const message = t ? messageAt(t, t.count - 1) : undefined;
    const last = message?.key;
    const previous = lastKeyRef.current;
    if (!positionedRef.current || last === previous) return;
    lastKeyRef.current = last;
    if (!t || !message) return;
    if (message.user.id === myId && message.local) {
      virtualizer.scrollToEnd();
      return;
    }
    if (atEndRef.current) return;
    const from = previous === undefined ? -1 : lastIndexOfKey(t, previous);
    let added = 0;
    for (let i = from + 1; i < t.count; i++) if (messageAt(t, i)!.user.id !== myId) added++;
    setUnseen((n) => n + added);
  }, [layout, roomId, myId, virtualizer]);

  // Driven by the rendered range (not the scroll event, which can fire before the virtualizer has
  // read the new offset): page in when the first or last rows come into range, mark what is seen.
  const items = virtualizer.getVirtualItems();
  const firstIndex = items[0]?.index ?? -1;
  const lastIndex = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    loadMoreIfNearEdge();
    markRead();
  }, [firstIndex, lastIndex, layout, timeline?.loadingOlder, timeline?.loadingNewer, loadMoreIfNearEdge, markRead]);

  const jumpToNewest = () => {
    setUnseen(0);
    atEndRef.current = true;
    virtualizer.scrollToEnd();
  };

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
        {unseen > 0 && (
          <button type="button" className="new-messages-pill" data-testid="new-messages-pill" onClick={jumpToNewest}>
            {unseen === 1 ? '1 new message' : `${unseen} new messages`} ↓
          </button>
        )}
      </div>
      {editDialog}
    </RowActionsContext.Provider>
  );
}
