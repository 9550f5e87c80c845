import type { PushSubscriptionBody } from '../../lib/api/types';

/**
 * The "Notifications" toggle as a state machine, over two narrow ports: the browser (permission,
 * the service worker's push subscription) and the server (VAPID key, stored subscriptions).
 * browser.ts implements the first with the real APIs; the API client the second.
 *
 *   checking -> unsupported | denied | off | on          (start: what the browser already has)
 *   off      -> enabling -> on | off (+ error) | denied | unavailable
 *   on       -> disabling -> off
 * The permission prompt is asked only from enable(), i.e. from the user's click.
 */
export type PushStatus = 'checking' | 'unsupported' | 'unavailable' | 'denied' | 'off' | 'enabling' | 'on' | 'disabling';

export interface PushState {
  status: PushStatus;
  /** Why the last enable or disable did not get where it was going, for the user. */
  error: string | null;
}

export const INITIAL_PUSH_STATE: PushState = { status: 'checking', error: null };

export interface BrowserSubscription {
  endpoint: string;
  toJSON(): { endpoint?: string; keys?: Record<string, string> };
  unsubscribe(): Promise<boolean>;
}

export interface PushBrowser {
  /** Service worker, PushManager and Notification all present (and a secure context). */
  supported(): boolean;
  permission(): NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
  current(): Promise<BrowserSubscription | null>;
  subscribe(applicationServerKey: string): Promise<BrowserSubscription>;
  userAgent(): string;
}

export interface PushServer {
  /** The VAPID public key, or null when this server has push switched off. */
  vapidKey(): Promise<string | null>;
  save(subscription: PushSubscriptionBody): Promise<void>;
  remove(endpoint: string): Promise<void>;
}

export const MESSAGES = {
  unsupported: 'This browser cannot show push notifications (no service worker or Push API here).',
  denied: 'Notifications are blocked for this site. Allow them in the browser’s site settings, then try again.',
  dismissed: 'Notifications were not allowed. Click again to be asked again.',
  unavailable: 'This server does not send push notifications (no VAPID key configured).',
  subscribeFailed: 'The browser could not subscribe to its push service',
  saveFailed: 'The server did not take this device’s subscription; try again.',
} as const;

function describe(error: unknown): string {
  return error instanceof Error && error.message ? `: ${error.message}` : '.';
}

export function subscriptionBody(subscription: BrowserSubscription, userAgent: string): PushSubscriptionBody | null {
  const json = subscription.toJSON();
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!p256dh || !auth) return null;
  return { endpoint: json.endpoint ?? subscription.endpoint, keys: { p256dh, auth }, user_agent: userAgent.slice(0, 300) };
}

export class PushToggle {
  private state: PushState = INITIAL_PUSH_STATE;

  constructor(
    private readonly browser: PushBrowser,
    private readonly server: PushServer,
    private readonly onChange: (state: PushState) => void,
  ) {}

  get current(): PushState {
    return this.state;
  }

  private set(status: PushStatus, error: string | null = null): void {
    this.state = { status, error };
    this.onChange(this.state);
  }

  /** Read what the browser already has. A subscription that exists is saved again: the
   * server may have dropped it (a 410 from the push service) or it belongs to another login. */
  async start(): Promise<void> {
    if (!this.browser.supported()) return this.set('unsupported', MESSAGES.unsupported);
    const permission = this.browser.permission();
    if (permission === 'denied') return this.set('denied', MESSAGES.denied);
    let subscription: BrowserSubscription | null = null;
    try {
      subscription = permission === 'granted' ? await this.browser.current() : null;
    } catch {
      subscription = null;
    }
    if (!subscription) return this.set('off');
    const body = subscriptionBody(subscription, this.browser.userAgent());
    try {
      if (!body) throw new Error('subscription without keys');
      await this.server.save(body);
      this.set('on');
    } catch {
      this.set('off', MESSAGES.saveFailed);
    }
  }

  /** The user turned the toggle on: ask for permission, subscribe, tell the server. */
  async enable(): Promise<void> {
    if (this.state.status === 'enabling' || this.state.status === 'disabling' || this.state.status === 'on') return;
    if (!this.browser.supported()) return this.set('unsupported', MESSAGES.unsupported);
    this.set('enabling');
    const permission = await this.browser.requestPermission().catch(() => 'default' as const);
    if (permission === 'denied') return this.set('denied', MESSAGES.denied);
    if (permission !== 'granted') return this.set('off', MESSAGES.dismissed);

    let key: string | null;
    try {
      key = await this.server.vapidKey();
    } catch (error) {
      return this.set('off', `Could not reach the server${describe(error)}`);
    }
    if (!key) return this.set('unavailable', MESSAGES.unavailable);

    let subscription: BrowserSubscription;
    try {
      subscription = await this.browser.subscribe(key);
    } catch (error) {
      return this.set('off', `${MESSAGES.subscribeFailed}${describe(error)}`);
    }
    const body = subscriptionBody(subscription, this.browser.userAgent());
    try {
      if (!body) throw new Error('subscription without keys');
      await this.server.save(body);
    } catch {
      // Not on the server means no notifications: do not leave a browser subscription behind.
      await subscription.unsubscribe().catch(() => false);
      return this.set('off', MESSAGES.saveFailed);
    }
    this.set('on');
  }

  /** The user turned the toggle off: the server forgets the endpoint, the browser drops it. */
  async disable(): Promise<void> {
    if (this.state.status !== 'on' && this.state.status !== 'off') return;
    this.set('disabling');
    await this.forget();
    this.set('off');
  }

  /** Remove this device's subscription from the server and the browser (also on logout, so
   * the next person to log in here does not get the last one's notifications). Never throws:
   * an endpoint the server still has answers 410 at the next push and is removed then. */
  async forget(): Promise<void> {
    const subscription = await this.browser.current().catch(() => null);
    if (!subscription) return;
    await this.server.remove(subscription.endpoint).catch(() => undefined);
    await subscription.unsubscribe().catch(() => false);
  }
}
