import { api } from '../../lib/api/client';
import { ApiError } from '../../lib/api/http';
import { clearToken, loadToken, saveToken } from '../../lib/api/token';
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

export function logOut(store: ChatStore): void {
  clearToken();
  store.getState().setMe(null);
}
