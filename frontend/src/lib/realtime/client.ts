import { backoffDelay, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';
import {
  CLOSE_FORBIDDEN,
  CLOSE_POLICY,
  CLOSE_TOO_MANY_SOCKETS,
  CLOSE_UNAUTHENTICATED,
  parseServerFrame,
  type ClientFrame,
  type ConnectionState,
  type ServerFrame,
} from './protocol';

/** The part of the WebSocket API the client uses; the browser's and the `ws` package's both fit. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

/** What the outbox and the sync need of a socket: send a frame now, or say it cannot. */
export interface FrameSender {
  readonly isOpen: boolean;
  send(frame: ClientFrame): boolean;
}

export interface RealtimeOptions {
  /** Full ws:// URL, or a function so a fresh token is read on every reconnect. */
  url: string | (() => string);
  createSocket?: SocketFactory;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** A socket that stayed open this long resets the backoff; shorter-lived ones keep it growing. */
  stableAfterMs?: number;
  random?: () => number;
}

export interface RealtimeEvents extends Record<string, unknown> {
  state: ConnectionState;
  open: { reconnect: boolean };
  frame: ServerFrame;
  close: { code: number; reason: string };
  /** The server refused us for good (4001 token, 4003 forbidden): no automatic reconnect. */
  rejected: { code: number; reason: string };
}

const OPEN = 1;

const defaultFactory: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike;

/**
 * One WebSocket with reconnects, heartbeats and a connection state.
 * Framework-free on purpose: it knows nothing of the store or React.
 */
export class RealtimeClient implements FrameSender {
  readonly events = new Emitter<RealtimeEvents>();
  private socket: SocketLike | null = null;
  private stateValue: ConnectionState = 'offline';
  private attempt = 0;
  private everOpened = false;
  private openedAt = 0;
  private stopped = true;
  /** The browser reported no network: no socket and no reconnect attempts until it is back. */
  private networkDown = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly opts: Required<Omit<RealtimeOptions, 'url'>> & Pick<RealtimeOptions, 'url'>;

  constructor(options: RealtimeOptions) {
    this.opts = {
      createSocket: defaultFactory,
      heartbeatIntervalMs: 20_000,
      heartbeatTimeoutMs: 10_000,
      backoff: { baseMs: 500, maxMs: 30_000 },
      stableAfterMs: 10_000,
      random: Math.random,
      ...options,
    };
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN && this.stateValue === 'online';
  }

  on<K extends keyof RealtimeEvents>(event: K, listener: (payload: RealtimeEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  connect(): void {
    this.stopped = false;
    if (this.socket) return;
    this.clearReconnect();
    if (this.networkDown) {
      this.setState('offline');
      return; // networkOnline() connects
    }
    this.setState('connecting');
    const url = typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url;
    const socket = this.opts.createSocket(url);
    this.socket = socket;
    socket.onopen = () => this.handleOpen(socket);
    socket.onmessage = (event) => this.handleMessage(socket, event.data);
    socket.onclose = (event) => this.handleClose(socket, event.code, event.reason);
    socket.onerror = () => {
      // An error is always followed by close; the close handler decides what to do.
    };
  }

  /** Skip the backoff wait, e.g. when the browser reports it is online again. */
  reconnectNow(): void {
    if (this.stopped || this.socket) return;
    this.connect();
  }

  /**
   * The browser says the network is gone (`offline` event). Chromium keeps an open WebSocket
   * through that (real or emulated) until TCP or the heartbeat notices, which can take a minute:
   * drop it now, report `offline`, and make no attempts until `networkOnline()`.
   */
  networkOffline(): void {
    this.networkDown = true;
    this.clearReconnect();
    if (this.socket) {
      this.dropSocket(1000, 'network offline');
      this.noteClosed();
      this.events.emit('close', { code: 1000, reason: 'network offline' });
    }
    this.setState('offline');
  }

  /** The network is back (`online` event): connect at once, from a fresh backoff. */
  networkOnline(): void {
    const wasDown = this.networkDown;
    this.networkDown = false;
    if (wasDown) this.attempt = 0;
    this.reconnectNow();
  }

  get networkAvailable(): boolean {
    return !this.networkDown;
  }

  /** Close for good (logout). */
  close(): void {
    this.stopped = true;
    this.clearReconnect();
    this.dropSocket(1000, 'client closing');
    this.setState('offline');
  }

  /** Sends when open; returns false when the frame could not go out (caller keeps it, e.g. outbox). */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen || !this.socket) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private handleOpen(socket: SocketLike): void {
    if (socket !== this.socket) return;
    const reconnect = this.everOpened;
    this.everOpened = true;
    // Do not reset the backoff yet: a server that accepts and drops at once (a restart loop) must
    // not be hammered. The reset happens when the socket proves stable (see handleClose).
    this.openedAt = Date.now();
    this.setState('online');
    this.startHeartbeat();
    this.events.emit('open', { reconnect });
  }

  private handleMessage(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    const frame = parseServerFrame(typeof data === 'string' ? data : String(data));
    if (!frame) return;
    if (frame.type === 'pong') {
      this.clearPongTimer();
      return;
    }
    this.events.emit('frame', frame);
  }

  private handleClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.detach();
    this.noteClosed();
    this.events.emit('close', { code, reason });
    if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_FORBIDDEN) {
      this.stopped = true;
      this.setState('offline');
      this.events.emit('rejected', { code, reason });
      return;
    }
    // A policy close (rate limit) still reconnects, but from the longest wait.
    if (code === CLOSE_POLICY || code === CLOSE_TOO_MANY_SOCKETS) this.attempt = Math.max(this.attempt, 16);
    // Everything else reconnects with the jittered backoff, and the open syncs every room: a
    // dropped network, CLOSE_SERVICE_RESTART (1012: deploy, channel-layer failure) and
    // CLOSE_TRY_AGAIN_LATER (1013: this socket did not read its frames fast enough) alike.
    this.scheduleReconnect();
  }

  private noteClosed(): void {
    if (this.openedAt && Date.now() - this.openedAt >= this.opts.stableAfterMs) this.attempt = 0;
    this.openedAt = 0;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.networkDown) {
      this.setState('offline');
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    // Between attempts we are "offline"; "connecting" means a socket is actually being opened.
    this.setState('offline');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => this.ping(), this.opts.heartbeatIntervalMs);
  }

  private ping(): void {
    if (!this.socket || this.pongTimer) return;
    this.socket.send(JSON.stringify({ type: 'ping' }));
    this.pongTimer = setTimeout(() => this.onHeartbeatTimeout(), this.opts.heartbeatTimeoutMs);
  }

  /** No pong: the socket is dead even if TCP has not noticed. Drop it without waiting for close. */
  private onHeartbeatTimeout(): void {
    this.pongTimer = null;
    const socket = this.socket;
    if (!socket) return;
    this.dropSocket(4000, 'heartbeat timeout');
    this.noteClosed();
    this.events.emit('close', { code: 4000, reason: 'heartbeat timeout' });
    this.scheduleReconnect();
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.detach();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Not null: closing a socket that is still connecting reports an error afterwards, and the
    // `ws` package throws an error nobody listens to.
    socket.onerror = () => undefined;
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that never opened may throw in some engines; it is gone either way.
    }
  }

  private detach(): void {
    this.socket = null;
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.clearPongTimer();
  }

  private clearPongTimer(): void {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.events.emit('state', state);
  }
}
