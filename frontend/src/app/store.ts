import { enableArrayMethods, enableMapSet, setAutoFreeze } from 'immer';
import { useStore } from 'zustand';
import { immer } from 'zustand/middleware/immer';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createAuthSlice } from '../features/auth/slice';
import { createConnectionSlice } from '../features/connection/slice';
import { createMessagesSlice } from '../features/messages/slice';
import { createNotificationsSlice } from '../features/notifications/slice';
import { createPresenceSlice } from '../features/presence/slice';
import { createReceiptsSlice } from '../features/receipts/slice';
import { createRoomsSlice } from '../features/rooms/slice';
import { createTypingSlice } from '../features/typing/slice';
import type { ChatState } from './storeTypes';

enableMapSet();
// push / splice / shift on a draft array operate on its copy without a proxy per element moved
// (the message timeline's chunks are spliced on every send).
enableArrayMethods();
// Deep-freezing thousands of messages on every change costs frames; the store is only written
// through its actions, so freezing buys nothing here.
setAutoFreeze(false);

export type ChatStore = StoreApi<ChatState>;

export function createChatStore(): ChatStore {
  return createStore<ChatState>()(
    immer((...a) => ({
      ...createAuthSlice(...a),
      ...createRoomsSlice(...a),
      ...createMessagesSlice(...a),
      ...createReceiptsSlice(...a),
      ...createPresenceSlice(...a),
      ...createTypingSlice(...a),
      ...createConnectionSlice(...a),
      ...createNotificationsSlice(...a),
    })),
  );
}

/** The app's one store. Tests build their own with createChatStore(). */
export const chatStore = createChatStore();

export function useChat<T>(selector: (state: ChatState) => T): T {
  return useStore(chatStore, selector);
}
