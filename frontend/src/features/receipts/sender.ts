import type { ClientFrame } from '../../lib/realtime/protocol';
import type { ReceiptKind } from '../rooms/watermarks';

interface Slot {
  sentSeq: number;
  queued: { messageId: number; seq: number } | null;
  timer: ReturnType<typeof setTimeout> | null;
  lastSentAt: number;
}

/**
 * Sends `mark_delivered` / `mark_read`: only forward, only the newest message, and at most once per
 * `intervalMs` per room and kind (trailing send, so the last position always reaches the server).
 */
export class ReceiptSender {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly intervalMs = 500,
    private readonly now: () => number = () => Date.now(),
  ) {}

  mark(kind: ReceiptKind, room: number, messageId: number, seq: number): void {
    const key = `${kind}:${room}`;
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { sentSeq: 0, queued: null, timer: null, lastSentAt: -Infinity }));
    if (seq <= slot.sentSeq || (slot.queued && seq <= slot.queued.seq)) return;
    slot.queued = { messageId, seq };
    const wait = slot.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) this.flush(kind, room, slot);
    else slot.timer ??= setTimeout(() => this.flush(kind, room, slot), wait);
  }

  /** After a reconnect the server may have missed a throttled send: allow resending. */
  reset(): void {
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
    }
    this.slots.clear();
  }

  private flush(kind: ReceiptKind, room: number, slot: Slot): void {
    slot.timer = null;
    const queued = slot.queued;
    if (!queued) return;
    const type = kind === 'read' ? 'mark_read' : 'mark_delivered';
    if (!this.send({ type, room, message_id: queued.messageId })) return; // offline: stays queued
    slot.queued = null;
    slot.sentSeq = queued.seq;
    slot.lastSentAt = this.now();
  }
}
