import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { SocketLike } from '../src/lib/realtime/client';

export type Frame = Record<string, unknown> & { type: string };

/**
 * A real WebSocket server on a free port. Tests script it with `onFrame`; it records every frame
 * it receives and every connection it accepts.
 */
export class TestServer {
  readonly received: Frame[] = [];
  readonly sockets: WebSocket[] = [];
  onFrame: (frame: Frame, socket: WebSocket) => void = (frame, socket) => {
    if (frame.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
  };
  onConnection: (socket: WebSocket) => void = () => undefined;
  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        this.received.push(frame);
        this.onFrame(frame, socket);
      });
      this.onConnection(socket);
    });
  }

  static async start(): Promise<TestServer> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new TestServer(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws/chat/?token=t`;
  }

  get current(): WebSocket {
    return this.sockets[this.sockets.length - 1]!;
  }

  framesOf(type: string): Frame[] {
    return this.received.filter((f) => f.type === type);
  }

  send(frame: Frame, socket = this.current): void {
    socket.send(JSON.stringify(frame));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

export const wsFactory = (url: string) => new WebSocket(url) as unknown as SocketLike;

export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
