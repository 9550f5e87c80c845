import type { Outbox } from '../../lib/outbox/outbox';
import type { ChatStore } from '../../app/store';

/**
 * A pending message's state belongs to the outbox; its row in the messages slice follows the
 * outbox's events and nothing else. (The row turns into the stored message when the confirming
 * frame, or our other tab's `message_new`, brings that message to the store.)
 */
export function followOutbox(outbox: Outbox, store: ChatStore): () => void {
  const state = () => store.getState();
  const offs = [
    outbox.events.on('added', (e) => state().addPending(e.room, e.temp_id, e.content, e.created_at)),
    outbox.events.on('restored', (entries) => state().restoreOutbox(entries)),
    outbox.events.on('failed', (e) => state().failMessage(e.temp_id, e.error ?? 'not sent')),
    outbox.events.on('retried', (e) => state().retryLocal(e.temp_id)),
    outbox.events.on('discarded', ({ temp_id }) => state().discardPending(temp_id)),
  ];
  return () => offs.forEach((off) => off());
}
