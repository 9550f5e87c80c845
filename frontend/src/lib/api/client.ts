import { request } from './http';
import type {
  AuthAnswer, HistoryPage, HistoryQuery, Message, PushSubscriptionAnswer, PushSubscriptionBody, Room, RoomMuteAnswer,
  RumBatch, User,
} from './types';

/** Typed calls for the HTTP paths (docs/api.md) the web app uses, and only those. */
export const api = {
  login: (username: string, password: string) =>
    request<AuthAnswer>('/api/auth/token/', { method: 'POST', body: { username, password } }),
  register: (username: string, password: string) =>
    request<AuthAnswer>('/api/auth/register/', { method: 'POST', body: { username, password } }),
  me: () => request<User>('/api/auth/me/'),
  /** Revokes this device's token on the server: its sockets close (4001) on every server. */
  logout: () => request<void>('/api/auth/logout/', { method: 'POST' }),
  searchUsers: (search: string) => request<User[]>('/api/users/', { query: { search } }),

  listRooms: () => request<Room[]>('/api/chat/rooms/'),
  createRoom: (name: string, members: number[], kind?: Room['kind']) =>
    request<Room>('/api/chat/rooms/', { method: 'POST', body: { name, members, kind } }),

  history: (query: HistoryQuery) => request<HistoryPage>('/api/chat/messages/', { query: { ...query } }),
  editMessage: (id: number, content: string) =>
    request<Message>(`/api/chat/messages/${id}/`, { method: 'PATCH', body: { content } }),
  deleteMessage: (id: number) => request<void>(`/api/chat/messages/${id}/`, { method: 'DELETE' }),
  addReaction: (id: number, emoji: string) =>
    request<Message>(`/api/chat/messages/${id}/reactions/${encodeURIComponent(emoji)}/`, { method: 'PUT' }),
  removeReaction: (id: number, emoji: string) =>
    request<Message>(`/api/chat/messages/${id}/reactions/${encodeURIComponent(emoji)}/`, { method: 'DELETE' }),

  /** The server's VAPID public key (applicationServerKey); 404 when push is not configured. */
  pushKey: () => request<{ public_key: string }>('/api/push/vapid-key/'),
  /** Idempotent on the endpoint: 201 the first time, 200 after. */
  savePushSubscription: (body: PushSubscriptionBody) =>
    request<PushSubscriptionAnswer>('/api/push/subscriptions/', { method: 'POST', body }),
  removePushSubscription: (endpoint: string) =>
    request<void>('/api/push/subscriptions/', { method: 'DELETE', body: { endpoint } }),
  muteRoom: (room: number) => request<RoomMuteAnswer>(`/api/chat/rooms/${room}/mute/`, { method: 'PUT' }),
  unmuteRoom: (room: number) => request<RoomMuteAnswer>(`/api/chat/rooms/${room}/mute/`, { method: 'DELETE' }),

  postRum: (batch: RumBatch) => request<void>('/api/rum/', { method: 'POST', body: batch, keepalive: true }),
};

export type Api = typeof api;
