import { request } from './http';
import type { AuthAnswer, HistoryPage, HistoryQuery, Message, Room, RumBatch, User } from './types';

/** Typed calls for every path of DESIGN section 4 that the web app uses. */
export const api = {
  login: (username: string, password: string) =>
    request<AuthAnswer>('/api/auth/token/', { method: 'POST', body: { username, password } }),
  register: (username: string, password: string) =>
    request<AuthAnswer>('/api/auth/register/', { method: 'POST', body: { username, password } }),
  me: () => request<User>('/api/auth/me/'),
  searchUsers: (search: string) => request<User[]>('/api/users/', { query: { search } }),

  listRooms: () => request<Room[]>('/api/chat/rooms/'),
  getRoom: (id: number) => request<Room>(`/api/chat/rooms/${id}/`),
  createRoom: (name: string, members: number[], kind?: Room['kind']) =>
    request<Room>('/api/chat/rooms/', { method: 'POST', body: { name, members, kind } }),
  addMember: (roomId: number, userId: number) =>
    request<void>(`/api/chat/rooms/${roomId}/members/`, { method: 'POST', body: { user_id: userId } }),
  markRead: (roomId: number, messageId: number) =>
    request<void>(`/api/chat/rooms/${roomId}/read/`, { method: 'POST', body: { message_id: messageId } }),

  history: (query: HistoryQuery) => request<HistoryPage>('/api/chat/messages/', { query: { ...query } }),
  sendMessage: (room: number, content: string, tempId: string) =>
    request<Message>('/api/chat/messages/', { method: 'POST', body: { room, content, temp_id: tempId } }),
  editMessage: (id: number, content: string) =>
    request<Message>(`/api/chat/messages/${id}/`, { method: 'PATCH', body: { content } }),
  deleteMessage: (id: number) => request<void>(`/api/chat/messages/${id}/`, { method: 'DELETE' }),
  addReaction: (id: number, emoji: string) =>
    request<Message>(`/api/chat/messages/${id}/reactions/${encodeURIComponent(emoji)}/`, { method: 'PUT' }),
  removeReaction: (id: number, emoji: string) =>
    request<Message>(`/api/chat/messages/${id}/reactions/${encodeURIComponent(emoji)}/`, { method: 'DELETE' }),

  postRum: (batch: RumBatch) => request<void>('/api/rum/', { method: 'POST', body: batch, keepalive: true }),
};

export type Api = typeof api;
