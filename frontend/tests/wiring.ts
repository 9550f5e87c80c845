import type { RealtimeClient } from '../src/lib/realtime/client';
import type { ServerFrame } from '../src/lib/realtime/protocol';

interface SocketListener {
  onOpen?(): void;
  onClose?(): void;
  onFrame?(frame: ServerFrame): void;
}

/** Feed one part the socket's events directly, as app/session.ts does for the whole route. */
export function wired<T extends SocketListener>(client: RealtimeClient, part: T): T {
  client.on('open', () => part.onOpen?.());
  client.on('close', () => part.onClose?.());
  client.on('frame', (frame) => part.onFrame?.(frame));
  return part;
}
