import type { StateCreator } from 'zustand';
import type { AuthSlice } from '../features/auth/slice';
import type { ConnectionSlice } from '../features/connection/slice';
import type { MessagesSlice } from '../features/messages/slice';
import type { NotificationsSlice } from '../features/notifications/slice';
import type { PresenceSlice } from '../features/presence/slice';
import type { ReceiptsSlice } from '../features/receipts/slice';
import type { RoomsSlice } from '../features/rooms/slice';
import type { TypingSlice } from '../features/typing/slice';

export type ChatState = AuthSlice & RoomsSlice & MessagesSlice & ReceiptsSlice & PresenceSlice & TypingSlice & ConnectionSlice
  & NotificationsSlice;

/** Every feature slice is written against the whole state, through the immer middleware. */
export type SliceCreator<Slice> = StateCreator<ChatState, [['zustand/immer', never]], [], Slice>;
