import type { HistoryPage, Message } from '../../lib/api/types';
import type { OutboxEntry } from '../../lib/outbox/db';
import type { ChatState, SliceCreator } from '../../app/storeTypes';
import { moveWatermark } from '../rooms/watermarks';
import { noteMessageInRoom } from '../rooms/slice';
import { pendingMessage } from './model';
import {
  addLocal,
  appendPage,
  applyUpdate,
  discardLocal,
  emptyTimeline,
  hasKey,
  localMessage,
  prependPage,
  requeueLocal,
  resetWithPage,
  setLocalState,
  upsertMessage,
  type Timeline,
} from './timeline';

export interface SyncResult {
  room: number;
  messages: Message[];
  updated?: Message[];
  reset?: boolean;
}

export interface MessagesSlice {
  timelines: Record<number, Timeline>;
  loadLatest: (room: number, page: HistoryPage) => void;
  loadAround: (room: number, page: HistoryPage) => void;
  prependOlder: (room: number, page: HistoryPage) => void;
  appendNewer: (room: number, page: HistoryPage) => void;
  setPaging: (room: number, which: 'older' | 'newer', loading: boolean) => void;
  confirmMessage: (tempId: string, message: Message) => void;
  receiveMessage: (message: Message) => void;
  updateMessage: (message: Message) => void;
  applySync: (result: SyncResult) => void;
  /*
   * The rows of pending messages. Called only by followOutbox (pending.ts) on the outbox's
   * events: the outbox owns a pending message's state, these mirror it for rendering. (A row
   * becomes the stored message through confirmMessage / receiveMessage, by its temp_id.)
   */
  addPending: (room: number, tempId: string, content: string, createdAt: string) => void;
  failMessage: (tempId: string, error: string) => void;
  retryLocal: (tempId: string) => void;
  discardPending: (tempId: string) => void;
  restoreOutbox: (entries: OutboxEntry[]) => void;
}

function timelineOf(s: ChatState, room: number): Timeline {
  return (s.timelines[room] ??= emptyTimeline());
}

function findLocal(s: ChatState, tempId: string): Timeline | undefined {
  return Object.values(s.timelines).find((t) => localMessage(t, tempId) !== undefined);
}

/** A stored message: into its timeline (if that room is open), the room's seq, and its sender's watermark. */
function storeMessage(s: ChatState, message: Message): void {
  const timeline = s.timelines[message.room];
  if (timeline && (timeline.loaded || (message.temp_id && hasKey(timeline, message.temp_id)))) upsertMessage(timeline, message);
  const room = s.rooms[message.room];
  if (!room) return;
  noteMessageInRoom(room, message);
  // Sending marks the sender's own read watermark on the server: mirror that here.
  moveWatermark(room, message.user.id, 'read', message.seq, s.me?.id ?? null);
}

export const createMessagesSlice: SliceCreator<MessagesSlice> = (set) => ({
  timelines: {},
  loadLatest: (room, page) => set((s) => resetWithPage(timelineOf(s, room), page, 'latest')),
  loadAround: (room, page) => set((s) => resetWithPage(timelineOf(s, room), page, 'around')),
  prependOlder: (room, page) =>
    set((s) => {
      const t = timelineOf(s, room);
      prependPage(t, page);
      t.loadingOlder = false;
    }),
  appendNewer: (room, page) =>
    set((s) => {
      const t = timelineOf(s, room);
      appendPage(t, page);
      t.loadingNewer = false;
    }),
  setPaging: (room, which, loading) =>
    set((s) => {
      const t = timelineOf(s, room);
      if (which === 'older') t.loadingOlder = loading;
      else t.loadingNewer = loading;
    }),
  addPending: (room, tempId, content, createdAt) =>
    set((s) => {
      if (!s.me) return;
      addLocal(timelineOf(s, room), pendingMessage(room, tempId, content, s.me, createdAt));
    }),
  confirmMessage: (_tempId, message) => set((s) => storeMessage(s, message)),
  receiveMessage: (message) => set((s) => storeMessage(s, message)),
  updateMessage: (message) =>
    set((s) => {
      const t = s.timelines[message.room];
      if (t) applyUpdate(t, message);
      const room = s.rooms[message.room];
      if (room?.last_message?.id === message.id) room.last_message = message;
    }),
  failMessage: (tempId, error) =>
    set((s) => {
      const t = findLocal(s, tempId);
      if (t) setLocalState(t, tempId, 'failed', error);
    }),
  retryLocal: (tempId) =>
    set((s) => {
      const t = findLocal(s, tempId);
      // A retried message moves to the end, where the outbox now queues it.
      if (t) requeueLocal(t, tempId);
    }),
  discardPending: (tempId) =>
    set((s) => {
      const t = findLocal(s, tempId);
      if (t) discardLocal(t, tempId);
    }),
  applySync: ({ room, messages, updated }) =>
    set((s) => {
      for (const m of messages) storeMessage(s, m);
      const t = s.timelines[room];
      if (t) for (const m of updated ?? []) applyUpdate(t, m);
    }),
  restoreOutbox: (entries) =>
    set((s) => {
      if (!s.me) return;
      for (const e of entries) {
        const message = pendingMessage(e.room, e.temp_id, e.content, s.me, e.created_at);
        if (e.status === 'failed') message.local = 'failed';
        if (e.error) message.error = e.error;
        addLocal(timelineOf(s, e.room), message);
      }
    }),
});
