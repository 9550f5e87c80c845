import { api } from '../../lib/api/client';
import { ApiError } from '../../lib/api/http';
import type { BrowserSubscription, PushBrowser, PushServer } from './push';

/** The service worker's script and scope (Django serves it at the site root, config/spa.py). */
export const SERVICE_WORKER_URL = '/sw.js';

let registering: Promise<ServiceWorkerRegistration> | null = null;

export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  );
}

/** Register the service worker once per page (idempotent in the browser too); resolves when it
 * is active. A registration needs no permission, so the app does this on every start: a click on
 * an earlier notification needs a worker to land in. */
export function registerServiceWorker(): Promise<ServiceWorkerRegistration> {
  registering ??= navigator.serviceWorker
    .register(SERVICE_WORKER_URL, { scope: '/' })
    .then(() => navigator.serviceWorker.ready)
    .catch((error: unknown) => {
      registering = null;
      throw error;
    });
  return registering;
}

/** base64url (the VAPID key as the server gives it) -> the bytes PushManager.subscribe takes. */
export function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(value.length / 4) * 4, '=');
  const raw = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export const browserPush: PushBrowser = {
  supported: pushSupported,
  permission: () => Notification.permission,
  requestPermission: () => Notification.requestPermission(),
  current: async (): Promise<BrowserSubscription | null> => (await registerServiceWorker()).pushManager.getSubscription(),
  subscribe: async (key) =>
    (await registerServiceWorker()).pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) }),
  userAgent: () => navigator.userAgent,
};

export const serverPush: PushServer = {
  vapidKey: async () => {
    try {
      return (await api.pushKey()).public_key;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  },
  save: async (body) => void (await api.savePushSubscription(body)),
  remove: (endpoint) => api.removePushSubscription(endpoint),
};
