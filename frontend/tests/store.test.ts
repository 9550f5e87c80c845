import { beforeEach, describe, expect, it } from 'vitest';
import { createChatStore, type ChatStore } from '../src/app/store';
import { messageStatus } from '../src/features/receipts/status';
import { unreadCount } from '../src/features/rooms/watermarks';
import { toArray } from '../src/features/messages/timeline';
import { ME, OTHER, THIRD, message, page, room } from './fixtures';

const R = 7;
let store: ChatStore;

function timeline() {
  return store.getState().timelines[R]!;
}
function messagesInOrder() {
  return toArray(timeline());
}
function seqs() {
  return messagesInOrder().map((m) => m.seq);
}
function statusOf(seq: number) {
  const m = messagesInOrder().find((x) => x.seq === seq)!;
  return messageStatus(m, store.getState().rooms[R], ME.id);
}

beforeEach(() => {
  store = createChatStore();
  store.getState().setMe(ME);
  store.getState().setRooms([room(R, { last_seq: 3 })]);
  store.getState().loadLatest(R, page([message(R, 1), message(R, 2), message(R, 3)], true));
});

describe('optimistic send', () => {
  it('shows the pending message at once, then replaces it by temp_id without duplicating', () => {
    store.getState().addPending(R, 'temp-a', 'გამარჯობა', '2026-11-24T10:00:00Z');
    let last = messagesInOrder().at(-1)!;
    expect(last).toMatchObject({ key: 'temp-a', local: 'pending', seq: null, content: 'გამარჯობა' });

    const confirmed = message(R, 4, { id: 44, user: ME, temp_id: 'temp-a', content: 'გამარჯობა' });
    store.getState().confirmMessage('temp-a', confirmed);
    // The same message echoed as message_new (e.g. from our other tab) must not add a row.
    store.getState().receiveMessage({ ...confirmed });

    expect(seqs()).toEqual([1, 2, 3, 4]);
    last = messagesInOrder().at(-1)!;
    expect(last).toMatchObject({ key: 'temp-a', id: 44, local: null });
    expect(timeline().localCount).toBe(0);
  });

  it('a message_new carrying our temp_id (sent from another tab) replaces the pending row', () => {
    store.getState().addPending(R, 'temp-b', 'hi', '2026-11-24T10:00:00Z');
    store.getState().receiveMessage(message(R, 4, { id: 45, user: ME, temp_id: 'temp-b', content: 'hi' }));
    expect(messagesInOrder().map((m) => m.key)).toEqual([expect.any(String), expect.any(String), expect.any(String), 'temp-b']);
    expect(timeline().localCount).toBe(0);
  });

  it('keeps pending messages after confirmed ones that arrive meanwhile', () => {
    store.getState().addPending(R, 'temp-c', 'mine', '2026-11-24T10:00:00Z');
    store.getState().receiveMessage(message(R, 4));
    expect(messagesInOrder().map((m) => m.seq)).toEqual([1, 2, 3, 4, null]);
  });

  it('marks a failed send and lets it be retried or discarded', () => {
    store.getState().addPending(R, 'temp-d', 'x', '2026-11-24T10:00:00Z');
    store.getState().failMessage('temp-d', 'too long');
    expect(messagesInOrder().at(-1)).toMatchObject({ local: 'failed', error: 'too long' });
    store.getState().retryLocal('temp-d');
    expect(messagesInOrder().at(-1)).toMatchObject({ local: 'pending' });
    store.getState().discardPending('temp-d');
    expect(seqs()).toEqual([1, 2, 3]);
  });
});

describe('dedupe and paging', () => {
  it('ignores a message it already holds, by id and by seq', () => {
    const m2 = messagesInOrder()[1]!;
    store.getState().receiveMessage(message(R, 2, { id: m2.id! }));
    store.getState().receiveMessage(message(R, 3, { id: 99999 }));
    expect(seqs()).toEqual([1, 2, 3]);
  });

  it('inserts out-of-order arrivals by seq', () => {
    store.getState().receiveMessage(message(R, 6));
    store.getState().receiveMessage(message(R, 5));
    store.getState().receiveMessage(message(R, 4));
    expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('prepends an older page before what is loaded, skipping overlap', () => {
    store.getState().loadLatest(R, page([message(R, 51), message(R, 52)], true));
    const older = [message(R, 49), message(R, 50), message(R, 51, { id: messagesInOrder()[0]!.id! })];
    store.getState().prependOlder(R, page(older, false));
    expect(seqs()).toEqual([49, 50, 51, 52]);
    expect(timeline().hasMoreBefore).toBe(false);
  });
});

describe('sync_response', () => {
  it('appends new messages, replaces updated ones only when their version is newer', () => {
    const m2 = messagesInOrder()[1]!;
    store.getState().applySync({
      room: R,
      messages: [message(R, 4), message(R, 5)],
      updated: [message(R, 2, { id: m2.id!, content: 'edited', edited_at: '2026-11-24T11:00:00Z', version: 2 })],
    });
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(messagesInOrder()[1]).toMatchObject({ content: 'edited', version: 2 });

    store.getState().applySync({ room: R, messages: [], updated: [message(R, 2, { id: m2.id!, content: 'stale', version: 1 })] });
    expect(messagesInOrder()[1]!.content).toBe('edited');
    expect(store.getState().rooms[R]!.last_seq).toBe(5);
  });

  it('applies deletes from message_updated', () => {
    const m3 = messagesInOrder()[2]!;
    store.getState().updateMessage(message(R, 3, { id: m3.id!, content: '', deleted: true, version: 3 }));
    expect(messagesInOrder()[2]).toMatchObject({ deleted: true, content: '' });
  });

  it('a reset reload keeps unsent messages at the end', () => {
    store.getState().addPending(R, 'temp-r', 'still mine', '2026-11-24T10:00:00Z');
    store.getState().loadLatest(R, page([message(R, 300), message(R, 301)], true));
    expect(messagesInOrder().map((m) => m.seq ?? m.key)).toEqual([300, 301, 'temp-r']);
  });
});

describe('receipts and status', () => {
  beforeEach(() => {
    store.getState().receiveMessage(message(R, 4, { user: ME, temp_id: 't4' }));
    store.getState().receiveMessage(message(R, 5, { user: ME, temp_id: 't5' }));
  });

  it('derives sent / delivered / read from other members watermarks only', () => {
    expect(statusOf(4)).toBe('sent');
    store.getState().applyReceipt(R, ME.id, 'read', 5); // our own watermark does not tick our messages
    expect(statusOf(5)).toBe('sent');
    store.getState().applyReceipt(R, OTHER.id, 'delivered', 5);
    expect([statusOf(4), statusOf(5)]).toEqual(['delivered', 'delivered']);
    store.getState().applyReceipt(R, THIRD.id, 'read', 4);
    expect([statusOf(4), statusOf(5)]).toEqual(['read', 'delivered']);
    store.getState().applyReceipt(R, THIRD.id, 'read', 2); // watermarks never move back
    expect(statusOf(4)).toBe('read');
  });

  it('a message from another member means that member has read up to it', () => {
    store.getState().receiveMessage(message(R, 6, { user: OTHER }));
    expect([statusOf(4), statusOf(5)]).toEqual(['read', 'read']);
    expect(statusOf(6)).toBe('sent'); // someone else's message
  });

  it('reads initial watermarks from the room members', () => {
    store.getState().setRooms([room(R, { last_seq: 5, members: [room(R).members[0]!, { ...room(R).members[1]!, last_delivered_seq: 5, last_read_seq: 4 }] })]);
    expect([statusOf(4), statusOf(5)]).toEqual(['read', 'delivered']);
  });
});

describe('unread counts', () => {
  it('counts messages past our read watermark and drops as we read', () => {
    const r = () => store.getState().rooms[R]!;
    store.getState().setRooms([room(R, { last_seq: 3, last_read_seq: 1, unread_count: 2 })]);
    expect(unreadCount(r())).toBe(2);
    store.getState().receiveMessage(message(R, 4));
    expect(unreadCount(r())).toBe(3);
    store.getState().applyReceipt(R, ME.id, 'read', 4);
    expect(unreadCount(r())).toBe(0);
    // Our own message marks our read watermark too.
    store.getState().receiveMessage(message(R, 5, { user: ME }));
    expect(unreadCount(r())).toBe(0);
  });

  it('derives the count from unread_count when the server sends no watermark', () => {
    store.getState().setRooms([room(R, { last_seq: 10, unread_count: 4, last_read_seq: undefined, members: [] })]);
    expect(unreadCount(store.getState().rooms[R]!)).toBe(4);
  });

  it('connection_established seqs raise the count of rooms not open', () => {
    store.getState().setRooms([room(R, { last_seq: 3, last_read_seq: 3 })]);
    store.getState().noteRoomSeq(R, 6);
    expect(unreadCount(store.getState().rooms[R]!)).toBe(3);
  });
});
