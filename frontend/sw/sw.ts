/**
 * The service worker, served at /sw.js with scope / (config/spa.py): shows the Web Push
 * notifications the worker sends, and opens the app at the room and message on a click.
 * Built by vite.sw.config.ts into dist/sw.js (one classic script: every browser with push runs
 * it), type-checked by tsconfig.sw.json against the WebWorker library.
 */
import {
  notificationFor,
  openMessage,
  parsePushText,
  pickWindow,
  targetPath,
} from '../src/features/notifications/pushPayload';

declare const self: ServiceWorkerGlobalScope;

// A new version takes over at once: it only shows notifications, there is no cache to migrate.
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  const shown = notificationFor(parsePushText(readText(event.data)));
  const options: NotificationOptions & { renotify: boolean } = {
    body: shown.body,
    tag: shown.tag,
    data: shown.data,
    icon: '/favicon.svg',
    // The replacing notification of a room alerts again: the server already collapsed a burst
    // into one push, so each push is news.
    renotify: true,
  };
  event.waitUntil(self.registration.showNotification(shown.title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openApp(targetPath(event.notification.data)));
});

function readText(data: PushMessageData | null): string | null {
  try {
    return data ? data.text() : null;
  } catch {
    return null;
  }
}

/** Bring an open app window to the room (the app's own router, no reload), or open one. */
async function openApp(path: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const target = pickWindow(windows, self.location.origin);
  if (!target) {
    await self.clients.openWindow(path);
    return;
  }
  target.postMessage(openMessage(path));
  try {
    await target.focus();
  } catch {
    // Focus needs the click's user activation; without it the window still moved to the room.
  }
}
