import { tabTitle } from '../features/notifications/title';
import { unreadCount } from '../features/rooms/watermarks';
import type { ChatState } from './storeTypes';
import type { ChatStore } from './store';

/** What the title needs of the document; tests pass their own EventTarget. */
export type TitleDocument = Pick<Document, 'title' | 'visibilityState' | 'addEventListener' | 'removeEventListener'>;

/** Unread messages across all of this user's rooms (muted ones too: muting stops pushes, not
 * the count; the sidebar shows the same numbers room by room). */
export function unreadTotal(rooms: ChatState['rooms']): number {
  let total = 0;
  for (const room of Object.values(rooms)) total += unreadCount(room);
  return total;
}

/** Keep the document's title in step with the unread total and the tab's visibility; returns
 * the stop, which puts the plain title back. */
export function followTabTitle(store: ChatStore, doc: TitleDocument = document): () => void {
  const update = () => {
    const title = tabTitle(unreadTotal(store.getState().rooms), doc.visibilityState === 'hidden');
    if (doc.title !== title) doc.title = title;
  };
  let rooms = store.getState().rooms;
  const offStore = store.subscribe((state) => {
    if (state.rooms === rooms) return;
    rooms = state.rooms;
    update();
  });
  doc.addEventListener('visibilitychange', update);
  update();
  return () => {
    offStore();
    doc.removeEventListener('visibilitychange', update);
    doc.title = tabTitle(0, false);
  };
}
