import { openedPath } from './pushPayload';

/** A click on a notification, when an app window is open, arrives here as a message from the
 * service worker (sw/sw.ts): the app's own router moves to the room, no reload. Returns the stop. */
export function followNotificationClicks(open: (path: string) => void): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => undefined;
  const container = navigator.serviceWorker;
  const onMessage = (event: MessageEvent) => {
    const path = openedPath(event.data);
    if (path) open(path);
  };
  container.addEventListener('message', onMessage);
  container.startMessages(); // addEventListener alone does not start the client's message queue
  return () => container.removeEventListener('message', onMessage);
}
