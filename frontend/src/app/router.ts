import { useSyncExternalStore } from 'react';

/** A tiny history router: the app has four screens, a library would be heavier than the need. */
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export type Route =
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'home' }
  | { name: 'room'; roomId: number; messageId: number | null };

export function parseRoute(path: string): Route {
  if (path.startsWith('/login')) return { name: 'login' };
  if (path.startsWith('/register')) return { name: 'register' };
  const room = /^\/rooms\/(\d+)(?:\/messages\/(\d+))?\/?$/.exec(path);
  if (room) return { name: 'room', roomId: Number(room[1]), messageId: room[2] ? Number(room[2]) : null };
  return { name: 'home' };
}

export const roomPath = (roomId: number, messageId?: number) =>
  messageId ? `/rooms/${roomId}/messages/${messageId}` : `/rooms/${roomId}`;
