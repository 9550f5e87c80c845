import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChatStore, type ChatStore } from '../src/app/store';
import { followLogoutInOtherTabs, forgetLogin, logOut } from '../src/features/auth/actions';
import { TOKEN_KEY, loadToken, saveToken } from '../src/lib/api/token';
import { ME } from './fixtures';

/** A localStorage of this test's own, and the window's `storage` listeners. */
class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string) { return this.items.get(key) ?? null; }
  setItem(key: string, value: string) { this.items.set(key, value); }
  removeItem(key: string) { this.items.delete(key); }
}

let store: ChatStore;
let listeners: Array<(event: StorageEvent) => void>;
let calls: Array<{ url: string; method: string; auth: string | null }>;

beforeEach(() => {
  listeners = [];
  calls = [];
  vi.stubGlobal('localStorage', new MemoryStorage());
  vi.stubGlobal('addEventListener', (type: string, fn: (event: StorageEvent) => void) => {
    if (type === 'storage') listeners.push(fn);
  });
  vi.stubGlobal('removeEventListener', (_type: string, fn: (event: StorageEvent) => void) => {
    listeners = listeners.filter((l) => l !== fn);
  });
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, method: init.method ?? 'GET', auth: new Headers(init.headers).get('Authorization') });
    return new Response(null, { status: 204 });
  });
  store = createChatStore();
  store.getState().setMe(ME);
  saveToken('device-token');
});

afterEach(() => vi.unstubAllGlobals());

describe('log out', () => {
  it('revokes the token through the API, then forgets it', async () => {
    await logOut(store);
    expect(calls).toEqual([{ url: '/api/auth/logout/', method: 'POST', auth: 'Token device-token' }]);
    expect(loadToken()).toBeNull();
    expect(store.getState().authStatus).toBe('anonymous');
  });

  it('still logs out locally when the server cannot be reached', async () => {
    vi.stubGlobal('fetch', async () => { throw new TypeError('network down'); });
    await logOut(store);
    expect(loadToken()).toBeNull();
    expect(store.getState().me).toBeNull();
  });

  it('a rejected socket (4001) forgets the token without calling the server', () => {
    forgetLogin(store);
    expect(calls).toEqual([]);
    expect(loadToken()).toBeNull();
  });

  it('other tabs follow when the shared token is removed', () => {
    const stop = followLogoutInOtherTabs(store);
    listeners.forEach((l) => l({ key: 'other.key', newValue: null } as StorageEvent));
    expect(store.getState().me).toEqual(ME);
    listeners.forEach((l) => l({ key: TOKEN_KEY, newValue: null } as StorageEvent));
    expect(store.getState().authStatus).toBe('anonymous');
    stop();
    expect(listeners).toEqual([]);
  });
});
