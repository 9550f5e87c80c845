import { flushSync } from 'react-dom';
import { api } from '../../lib/api/client';
import type { Message } from '../../lib/api/types';
import { nextTask } from '../../lib/nextTask';
import type { AppServices } from '../../app/SessionContext';
import { chatStore } from '../../app/store';
import type { ChatMessage } from './model';

/**
 * Optimistic send. The outbox queues the message and announces it at once; the messages slice
 * adds the pending row on that event, and flushSync commits it to the DOM before this returns, so
 * it paints in the frame of the keypress. The outbox's IndexedDB write and socket send (~1-2 ms)
 * run in the next task, so they do not hold up that frame. `eventAt` is the timeStamp of the
 * keydown (or click) that sent: the RUM probe times Enter -> visible from it.
 */
export function sendMessage({ session, rum }: AppServices, room: number, content: string, eventAt: number): void {
  flushSync(() => session.outbox.add(room, content));
  rum.sends.sent(eventAt);
  nextTask(() => session.typing.stop(room));
}

/** Retry and discard are the outbox's; the row follows its events. */
export function retrySend({ session }: AppServices, tempId: string): void {
  session.outbox.retry(tempId);
}

export function discardSend({ session }: AppServices, tempId: string): void {
  session.outbox.discard(tempId);
}

/** Over the socket when open; over HTTP otherwise (the answer is the changed message). */
async function change(frameSent: boolean, viaHttp: () => Promise<Message | void>): Promise<void> {
  if (frameSent) return;
  const message = await viaHttp();
  if (message) chatStore.getState().updateMessage(message);
}

export function editMessage(services: AppServices, message: ChatMessage, content: string): Promise<void> {
  const id = message.id!;
  const sent = services.session.client.send({ type: 'message_edit', message_id: id, content });
  return change(sent, () => api.editMessage(id, content));
}

export function deleteMessage(services: AppServices, message: ChatMessage): Promise<void> {
  const id = message.id!;
  const sent = services.session.client.send({ type: 'message_delete', message_id: id });
  return change(sent, () => api.deleteMessage(id));
}

export function toggleReaction(services: AppServices, message: ChatMessage, emoji: string, myId: number): Promise<void> {
  const id = message.id!;
  const mine = message.reactions.some((r) => r.emoji === emoji && r.users.includes(myId));
  const action = mine ? 'remove' : 'add';
  const sent = services.session.client.send({ type: 'reaction', message_id: id, emoji, action });
  return change(sent, () => (mine ? api.removeReaction(id, emoji) : api.addReaction(id, emoji)));
}
