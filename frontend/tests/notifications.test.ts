import { describe, expect, it } from 'vitest';
import { parseRoute } from '../src/app/router';
import { createChatStore } from '../src/app/store';
import { followTabTitle, unreadTotal, type TitleDocument } from '../src/app/tabTitle';
import { base64UrlToBytes } from '../src/features/notifications/browser';
import {
  MESSAGES,
  PushToggle,
  type BrowserSubscription,
  type PushBrowser,
  type PushServer,
  type PushState,
} from '../src/features/notifications/push';
import {
  notificationFor,
  openMessage,
  openedPath,
  parsePushText,
  pickWindow,
  targetPath,
} from '../src/features/notifications/pushPayload';
import { tabTitle } from '../src/features/notifications/title';
import { setRoomMuted } from '../src/features/rooms/mute';
import type { PushSubscriptionBody, RoomMuteAnswer } from '../src/lib/api/types';
import { ME, room } from './fixtures';

/** The worker's payload (chat/notifications.py `payload`) for a burst of three in room 7. */
const PUSHED = {
  type: 'message', room: 7, seq: 42, message: 901, unread: 3,
  title: '3 new messages in სამზარეულო', body: 'nino: ვახშამი 8-ზე?', tag: 'room-7',
};

describe('what a push shows', () => {
  it('shows the server’s title and body, collapses by the room’s tag, and keeps the target', () => {
    expect(notificationFor(parsePushText(JSON.stringify(PUSHED)))).toEqual({
      title: '3 new messages in სამზარეულო',
      body: 'nino: ვახშამი 8-ზე?',
      tag: 'room-7',
      data: { room: 7, seq: 42, message: 901 },
    });
  });

  it('still shows something for an empty, broken or foreign push', () => {
    const fallback = { title: 'Chat', body: 'You have new messages.', tag: 'chat', data: null };
    expect(notificationFor(parsePushText(''))).toEqual(fallback);
    expect(notificationFor(parsePushText('{not json'))).toEqual(fallback);
    expect(notificationFor({ type: 'other', room: 7 })).toEqual(fallback);
    expect(notificationFor({ type: 'message', room: '7' })).toEqual(fallback);
    expect(notificationFor({ type: 'message', room: 7 })).toEqual({
      title: 'New message', body: '', tag: 'room-7', data: { room: 7, seq: null, message: null },
    });
  });

  it('a click opens the app’s own route to the room at the message', () => {
    expect(targetPath({ room: 7, seq: 42, message: 901 })).toBe('/rooms/7/messages/901');
    expect(parseRoute(targetPath({ room: 7, seq: 42, message: 901 }))).toEqual({ name: 'room', roomId: 7, messageId: 901 });
    expect(parseRoute(targetPath({ room: 7, seq: null, message: null }))).toEqual({ name: 'room', roomId: 7, messageId: null });
    expect(targetPath(null)).toBe('/');
    expect(targetPath({ room: -1 })).toBe('/');
  });

  it('the page follows only same-origin app paths the worker posts', () => {
    expect(openedPath(openMessage('/rooms/7/messages/901'))).toBe('/rooms/7/messages/901');
    expect(openedPath({ type: 'chat.open', path: '//evil.example/x' })).toBeNull();
    expect(openedPath({ type: 'chat.open', path: 'https://evil.example/' })).toBeNull();
    expect(openedPath({ type: 'other', path: '/rooms/1' })).toBeNull();
    expect(openedPath('chat.open')).toBeNull();
  });

  it('a click goes to a focused window of the app, else a visible one, else any', () => {
    const origin = 'https://chat.example';
    const w = (url: string, focused = false, visibilityState = 'hidden') => ({ url, focused, visibilityState });
    const hidden = w(`${origin}/rooms/1`);
    const visible = w(`${origin}/`, false, 'visible');
    const focused = w(`${origin}/rooms/2`, true, 'visible');
    const foreign = w('https://other.example/', true, 'visible');
    expect(pickWindow([hidden, visible, focused, foreign], origin)).toBe(focused);
    expect(pickWindow([hidden, visible, foreign], origin)).toBe(visible);
    expect(pickWindow([hidden, foreign], origin)).toBe(hidden);
    expect(pickWindow([foreign, w('https://chat.example.evil/')], origin)).toBeUndefined();
  });

  it('turns the server’s base64url VAPID key into the 65 bytes of a P-256 point', () => {
    const key = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
    const bytes = base64UrlToBytes(key);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(0x04);
    expect(Buffer.from(bytes).toString('base64url')).toBe(key);
  });
});

describe('the tab title', () => {
  it('shows the unread total only while the tab is hidden', () => {
    expect(tabTitle(3, true)).toBe('(3) Chat');
    expect(tabTitle(3, false)).toBe('Chat');
    expect(tabTitle(0, true)).toBe('Chat');
    expect(tabTitle(12345, true)).toBe('(999+) Chat');
  });

  function titleDocument(): TitleDocument & { hide(hidden: boolean): void } {
    const target = new EventTarget();
    let state: DocumentVisibilityState = 'visible';
    return {
      title: 'Chat',
      get visibilityState() {
        return state;
      },
      addEventListener: target.addEventListener.bind(target),
      removeEventListener: target.removeEventListener.bind(target),
      hide(hidden: boolean) {
        state = hidden ? 'hidden' : 'visible';
        target.dispatchEvent(new Event('visibilitychange'));
      },
    } as TitleDocument & { hide(hidden: boolean): void };
  }

  it('follows the rooms’ unread counts and the visibility, and resets when stopped', () => {
    const store = createChatStore();
    store.getState().setMe(ME);
    store.getState().setRooms([
      room(1, { last_seq: 5, last_read_seq: 3 }),
      room(2, { last_seq: 4, last_read_seq: 4 }),
      room(3, { last_seq: 1, last_read_seq: 0, muted: true }), // muted rooms still count
    ]);
    expect(unreadTotal(store.getState().rooms)).toBe(3);
    const doc = titleDocument();
    const stop = followTabTitle(store, doc);
    expect(doc.title).toBe('Chat');
    doc.hide(true);
    expect(doc.title).toBe('(3) Chat');
    store.getState().noteRoomSeq(2, 6); // two more arrive while hidden
    expect(doc.title).toBe('(5) Chat');
    store.getState().applyReceipt(1, ME.id, 'read', 5); // read on another device
    expect(doc.title).toBe('(3) Chat');
    doc.hide(false);
    expect(doc.title).toBe('Chat');
    doc.hide(true);
    stop();
    expect(doc.title).toBe('Chat');
    store.getState().noteRoomSeq(2, 9);
    expect(doc.title).toBe('Chat');
  });
});

describe('room mute', () => {
  function world() {
    const store = createChatStore();
    store.getState().setMe(ME);
    store.getState().setRooms([room(1), room(2, { muted: true })]);
    const calls: string[] = [];
    return { store, calls };
  }

  it('the room list carries the mute', () => {
    const { store } = world();
    expect(store.getState().rooms[1]!.muted).toBe(false);
    expect(store.getState().rooms[2]!.muted).toBe(true);
  });

  it('shows the new state at once and keeps what the server answered', async () => {
    const { store, calls } = world();
    let release!: (answer: RoomMuteAnswer) => void;
    const api = {
      muteRoom: (id: number) => (calls.push(`PUT ${id}`), new Promise<RoomMuteAnswer>((r) => (release = r))),
      unmuteRoom: async (id: number) => (calls.push(`DELETE ${id}`), { room: id, muted: false }),
    };
    const done = setRoomMuted(store, api, 1, true);
    expect(store.getState().rooms[1]!.muted).toBe(true);
    release({ room: 1, muted: true });
    await done;
    expect(store.getState().rooms[1]!.muted).toBe(true);
    await setRoomMuted(store, api, 2, false);
    expect(store.getState().rooms[2]!.muted).toBe(false);
    expect(calls).toEqual(['PUT 1', 'DELETE 2']);
  });

  it('puts the old state back when the server refuses', async () => {
    const { store } = world();
    const api = {
      muteRoom: async () => Promise.reject(new Error('offline')),
      unmuteRoom: async () => Promise.reject(new Error('offline')),
    };
    await expect(setRoomMuted(store, api, 1, true)).rejects.toThrow('offline');
    expect(store.getState().rooms[1]!.muted).toBe(false);
    await expect(setRoomMuted(store, api, 2, false)).rejects.toThrow('offline');
    expect(store.getState().rooms[2]!.muted).toBe(true);
  });
});

describe('the Notifications toggle', () => {
  const KEY = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
  const KEYS = { p256dh: 'BPub', auth: 'secret' };

  /** The two ports as a browser and a server would answer, recording what was asked of them. */
  function setup(over: { supported?: boolean; permission?: NotificationPermission; answer?: NotificationPermission;
    existing?: boolean; key?: string | null; subscribeFails?: boolean; saveFails?: boolean } = {}) {
    const log: string[] = [];
    const states: PushState[] = [];
    let permission = over.permission ?? 'default';
    let current: BrowserSubscription | null = null;
    const subscription = (endpoint: string): BrowserSubscription => ({
      endpoint,
      toJSON: () => ({ endpoint, keys: KEYS }),
      unsubscribe: async () => (log.push(`browser unsubscribe ${endpoint}`), (current = null), true),
    });
    if (over.existing) current = subscription('https://push.example/old');
    const browser: PushBrowser = {
      supported: () => over.supported ?? true,
      permission: () => permission,
      requestPermission: async () => (log.push('prompt'), (permission = over.answer ?? 'granted')),
      current: async () => current,
      subscribe: async (key) => {
        log.push(`subscribe ${key === KEY ? 'with the VAPID key' : key}`);
        if (over.subscribeFails) throw new Error('Registration failed - push service error');
        return (current = subscription('https://push.example/new'));
      },
      userAgent: () => 'test-agent',
    };
    const server: PushServer = {
      vapidKey: async () => (log.push('GET key'), over.key === undefined ? KEY : over.key),
      save: async (body: PushSubscriptionBody) => {
        log.push(`POST ${body.endpoint} ${body.keys.p256dh}/${body.keys.auth} ${body.user_agent}`);
        if (over.saveFails) throw new Error('400');
      },
      remove: async (endpoint) => void log.push(`DELETE ${endpoint}`),
    };
    const toggle = new PushToggle(browser, server, (s) => states.push(s));
    return { toggle, log, states, statuses: () => states.map((s) => s.status) };
  }

  it('starts off without asking anything', async () => {
    const { toggle, log, statuses } = setup();
    await toggle.start();
    expect(statuses()).toEqual(['off']);
    expect(log).toEqual([]);
  });

  it('starts on when this browser already has a subscription, and saves it again', async () => {
    const { toggle, log } = setup({ permission: 'granted', existing: true });
    await toggle.start();
    expect(toggle.current).toEqual({ status: 'on', error: null });
    expect(log).toEqual(['POST https://push.example/old BPub/secret test-agent']);
  });

  it('says so when the browser has no push, or has blocked the site', async () => {
    const none = setup({ supported: false });
    await none.toggle.start();
    expect(none.toggle.current).toEqual({ status: 'unsupported', error: MESSAGES.unsupported });
    await none.toggle.enable();
    expect(none.log).toEqual([]);

    const blocked = setup({ permission: 'denied' });
    await blocked.toggle.start();
    expect(blocked.toggle.current).toEqual({ status: 'denied', error: MESSAGES.denied });
  });

  it('on the click: asks, subscribes with the server’s key, posts the subscription', async () => {
    const { toggle, log, statuses } = setup();
    await toggle.start();
    await toggle.enable();
    expect(statuses()).toEqual(['off', 'enabling', 'on']);
    expect(log).toEqual(['prompt', 'GET key', 'subscribe with the VAPID key',
      'POST https://push.example/new BPub/secret test-agent']);
    await toggle.enable(); // already on: nothing again
    expect(log).toHaveLength(4);
  });

  it('a refused prompt ends denied, a dismissed one off; neither subscribes', async () => {
    const denied = setup({ answer: 'denied' });
    await denied.toggle.start();
    await denied.toggle.enable();
    expect(denied.toggle.current).toEqual({ status: 'denied', error: MESSAGES.denied });
    expect(denied.log).toEqual(['prompt']);

    const dismissed = setup({ answer: 'default' });
    await dismissed.toggle.start();
    await dismissed.toggle.enable();
    expect(dismissed.toggle.current).toEqual({ status: 'off', error: MESSAGES.dismissed });
    expect(dismissed.log).toEqual(['prompt']);
  });

  it('a server without VAPID keys is unavailable', async () => {
    const { toggle, log } = setup({ key: null });
    await toggle.start();
    await toggle.enable();
    expect(toggle.current).toEqual({ status: 'unavailable', error: MESSAGES.unavailable });
    expect(log).toEqual(['prompt', 'GET key']);
  });

  it('a push service that fails is reported, with the browser’s reason', async () => {
    const { toggle } = setup({ subscribeFails: true });
    await toggle.start();
    await toggle.enable();
    expect(toggle.current.status).toBe('off');
    expect(toggle.current.error).toBe(`${MESSAGES.subscribeFailed}: Registration failed - push service error`);
  });

  it('a subscription the server refused is not left in the browser', async () => {
    const { toggle, log } = setup({ saveFails: true });
    await toggle.start();
    await toggle.enable();
    expect(toggle.current).toEqual({ status: 'off', error: MESSAGES.saveFailed });
    expect(log.slice(-1)).toEqual(['browser unsubscribe https://push.example/new']);
  });

  it('turning off deletes the subscription on the server and in the browser', async () => {
    const { toggle, log, statuses } = setup({ permission: 'granted', existing: true });
    await toggle.start();
    await toggle.disable();
    expect(statuses()).toEqual(['on', 'disabling', 'off']);
    expect(log.slice(1)).toEqual(['DELETE https://push.example/old', 'browser unsubscribe https://push.example/old']);
    await toggle.enable(); // and on again (the prompt answers at once once granted)
    expect(toggle.current.status).toBe('on');
  });
});
