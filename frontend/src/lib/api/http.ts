import { loadToken } from './token';

/** A 4xx/5xx answer, carrying the contract's `{detail, errors}` body when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: Record<string, string[]> = {},
  ) {
    super(detail || `HTTP ${status}`);
    this.name = 'ApiError';
  }

  /** First message for a form field, or the general detail. */
  fieldMessage(field: string): string | undefined {
    return this.errors[field]?.[0];
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  keepalive?: boolean;
}

function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const qs = params.toString();
  return `${path}${qs ? `?${qs}` : ''}`; // same-origin: Django serves the SPA and the API
}

async function toApiError(response: Response): Promise<ApiError> {
  let detail = response.statusText;
  let errors: Record<string, string[]> = {};
  try {
    const body = (await response.json()) as { detail?: unknown; errors?: Record<string, string[]> };
    if (typeof body.detail === 'string') detail = body.detail;
    if (body.errors && typeof body.errors === 'object') errors = body.errors;
  } catch {
    // Not JSON (a proxy error page): keep the status text.
  }
  return new ApiError(response.status, detail, errors);
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = loadToken();
  if (token) headers.Authorization = `Token ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
  const response = await fetch(buildUrl(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    keepalive: options.keepalive,
  });
  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
