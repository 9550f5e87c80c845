export { api } from './client';
export type { Api } from './client';
export { ApiError, request, setApiBase } from './http';
export { clearToken, loadToken, saveToken } from './token';
export type * from './types';
