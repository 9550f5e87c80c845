import { flushSync } from 'react-dom';
import { api } from '../../lib/api/client';
import type { Message } from '../../lib/api/types';
import type { AppServices } from '../../app/SessionContext';
import { chatStore } from '../../app/store';
import type { ChatMessage } from './model';

/** Run `task` in a task of its own, queued now (a MessageChannel message: no timer clamping). */
const nextTask = (() => {
  const queue: (() => void)[] = [];
  let channel: MessageChannel | null = null;
  return (task: () => void) => {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => queue.shift()?.();
    }
    queue.push(task);
    channel.port2.postMessage(null);
  };
})();

/**
 * Optimistic send. The pending row is committed to the store AND the DOM before this returns
 * (flushSync), so it paints in the frame of the keypress. The outbox (an IndexedDB write and the
 * socket send, ~1-2 ms) runs in the next task, in order, so it does not hold up the frame that
 * shows the row. `eventAt` is the timeStamp of the keydown (or click) that sent: the RUM probe
 * times Enter -> visible from it.
 */
export function sendMessage({ session, rum }: AppServices, room: number, content: string, eventAt: number): void {
  const tempId = crypto.randomUUID();
  flushSync(() => chatStore.getState().addPending(room, tempId, content, new Date().toISOString()));
  rum.sends.sent(eventAt);
  nextTask(() => {
    session.outbox.add(room, content, tempId);
    session.typing.stop(room);
  });
}

export function retrySend({ session }: AppServices, tempId: string): void {
  chatStore.getState().retryLocal(tempId);
  session.outbox.retry(tempId);
}

export function discardSend({ session }: AppServices, tempId: string): void {
  chatStore.getState().discardPending(tempId);
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
