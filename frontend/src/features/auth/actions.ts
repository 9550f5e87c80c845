import { api } from '../../lib/api/client';
import { ApiError } from '../../lib/api/http';
import { TOKEN_KEY, clearToken, loadToken, saveToken } from '../../lib/api/token';
import type { ChatStore } from '../../app/store';

/** On page load: a stored token that the server still accepts logs us straight in. */
export async function restoreLogin(store: ChatStore): Promise<void> {
  if (!loadToken()) return store.getState().setMe(null);
  try {
    store.getState().setMe(await api.me());
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) clearToken();
    store.getState().setMe(null);
  }
}

export async function logIn(store: ChatStore, username: string, password: string, register: boolean): Promise<void> {
  const answer = register ? await api.register(username, password) : await api.login(username, password);
  saveToken(answer.token);
  store.getState().setMe(answer.user);
}

/** Log out this device: the server revokes the token (its sockets close everywhere), then this
 * tab forgets it; the other tabs follow through the storage event (followLogoutInOtherTabs). */
export async function logOut(store: ChatStore): Promise<void> {
  if (loadToken()) {
    try {
      await api.logout();
    } catch {
      // Offline, or the token is already revoked or expired: forgetting it here is what is left.
    }
  }
  forgetLogin(store);
}

/** The token is gone (logged out, revoked, expired): forget it locally, no server call. */
export function forgetLogin(store: ChatStore): void {
  clearToken();
  store.getState().setMe(null);
}

/** Tabs share the token (localStorage): when another tab removes it, this one logs out too.
 * Returns the unsubscribe. */
export function followLogoutInOtherTabs(store: ChatStore): () => void {
  const onStorage = (event: StorageEvent) => {
    if (event.key === TOKEN_KEY && event.newValue === null && store.getState().me) store.getState().setMe(null);
  };
  globalThis.addEventListener?.('storage', onStorage);
  return () => globalThis.removeEventListener?.('storage', onStorage);
}
