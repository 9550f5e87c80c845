import type { ClientFrame } from '../../lib/realtime/protocol';

export const TYPING_SEND_INTERVAL_MS = 3000;
export const TYPING_EXPIRY_MS = 6000;

/** Our side: `typing true` at most every 3 s while keys are pressed, `false` once when we stop. */
export class TypingNotifier {
  private readonly lastSent = new Map<number, number>();

  constructor(
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly now: () => number = () => Date.now(),
  ) {}

  input(room: number): void {
    const last = this.lastSent.get(room);
    if (last !== undefined && this.now() - last < TYPING_SEND_INTERVAL_MS) return;
    if (this.send({ type: 'typing', room, is_typing: true })) this.lastSent.set(room, this.now());
  }

  stop(room: number): void {
    if (!this.lastSent.has(room)) return;
    this.lastSent.delete(room);
    this.send({ type: 'typing', room, is_typing: false });
  }
}

/** Their side: an entry disappears 6 s after its last refresh even if `false` never comes. */
export class TypingExpiry {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly apply: (room: number, userId: number, username: string, isTyping: boolean) => void) {}

  onFrame(room: number, userId: number, username: string, isTyping: boolean): void {
    const key = `${room}:${userId}`;
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
    this.apply(room, userId, username, isTyping);
    if (isTyping) {
      this.timers.set(key, setTimeout(() => this.onFrame(room, userId, username, false), TYPING_EXPIRY_MS));
    }
  }

  dispose(): void {
    this.timers.forEach(clearTimeout);
    this.timers.clear();
  }
}
