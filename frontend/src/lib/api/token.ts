/** The auth token lives in localStorage so a reload stays logged in. */
export const TOKEN_KEY = 'chat.token';

export function loadToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  globalThis.localStorage?.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  globalThis.localStorage?.removeItem(TOKEN_KEY);
}
