/**
 * What a Web Push message means to the service worker (sw/sw.ts), kept free of DOM and worker
 * types so the worker bundle and the app's tests share it.
 *
 * The worker's payload (chat/notifications.py `payload`): {type: "message", room, seq, message,
 * unread, title, body, tag}. `tag` is the room's push Topic: a newer notification of a room
 * replaces the one still on screen instead of stacking beside it.
 */

/** What a notification carries for its click: the room and the message to open it at. */
export interface NotificationTarget {
  room: number;
  seq: number | null;
  message: number | null;
}

export interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  data: NotificationTarget | null;
}

const FALLBACK: ShownNotification = { title: 'Chat', body: 'You have new messages.', tag: 'chat', data: null };

function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

function text(value: unknown, limit: number): string | null {
  return typeof value === 'string' && value.trim() ? value.slice(0, limit) : null;
}

/**
 * The notification to show for a push's data (already JSON-parsed, or null when it was empty or
 * not JSON). Anything unexpected still shows something: Chromium counts a push that shows
 * nothing against the site (userVisibleOnly) and would show its own generic notice instead.
 */
export function notificationFor(payload: unknown): ShownNotification {
  if (!payload || typeof payload !== 'object') return FALLBACK;
  const p = payload as Record<string, unknown>;
  const room = positiveInt(p.room);
  if (p.type !== 'message' || room === null) return FALLBACK;
  return {
    title: text(p.title, 200) ?? 'New message',
    body: text(p.body, 500) ?? '',
    tag: text(p.tag, 64) ?? `room-${room}`,
    data: { room, seq: positiveInt(p.seq), message: positiveInt(p.message) },
  };
}

/** Parse a push's text; null for an empty or non-JSON push. */
export function parsePushText(raw: string | null | undefined): unknown {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return null;
  }
}

/** The app path a click opens (app/router.ts's room routes): the room at its message, or the app. */
export function targetPath(data: unknown): string {
  if (!data || typeof data !== 'object') return '/';
  const d = data as Partial<NotificationTarget>;
  const room = positiveInt(d.room);
  if (room === null) return '/';
  const message = positiveInt(d.message);
  return message === null ? `/rooms/${room}` : `/rooms/${room}/messages/${message}`;
}

/** The message a notification click sends to an open app window (its navigator.serviceWorker). */
export interface OpenMessage {
  type: 'chat.open';
  path: string;
}

export function openMessage(path: string): OpenMessage {
  return { type: 'chat.open', path };
}

/** The path of an OpenMessage posted to the page, or null for anything else (only same-origin
 * app paths: a message cannot send the app to another site). */
export function openedPath(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const m = data as Partial<OpenMessage>;
  if (m.type !== 'chat.open' || typeof m.path !== 'string') return null;
  return m.path.startsWith('/') && !m.path.startsWith('//') ? m.path : null;
}

interface WindowLike {
  url: string;
  focused: boolean;
  visibilityState: string;
}

/** Which open window a click goes to: a focused one, else a visible one, else any of this app. */
export function pickWindow<T extends WindowLike>(windows: readonly T[], origin: string): T | undefined {
  const ours = windows.filter((w) => w.url.startsWith(`${origin}/`) || w.url === origin);
  return ours.find((w) => w.focused) ?? ours.find((w) => w.visibilityState === 'visible') ?? ours[0];
}
