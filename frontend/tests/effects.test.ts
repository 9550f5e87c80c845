import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame } from '../src/lib/realtime/protocol';
import { ReceiptSender } from '../src/features/receipts/sender';
import { TypingExpiry, TypingNotifier } from '../src/features/typing/effects';
import { RumCollector } from '../src/features/rum/collector';
import { SendVisibleProbe, type EventTimingEntry, type SendProbeEnv } from '../src/features/rum/probes';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ReceiptSender', () => {
  it('sends at most every 500 ms per room, only forward, ending with the newest', () => {
    const sent: ClientFrame[] = [];
    const receipts = new ReceiptSender((f) => (sent.push(f), true), 500, () => Date.now());
    receipts.mark('read', 1, 101, 1);
    receipts.mark('read', 1, 102, 2);
    receipts.mark('read', 1, 103, 3);
    receipts.mark('read', 1, 100, 0); // backwards: ignored
    expect(sent).toEqual([{ type: 'mark_read', room: 1, message_id: 101 }]);
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([
      { type: 'mark_read', room: 1, message_id: 101 },
      { type: 'mark_read', room: 1, message_id: 103 },
    ]);
    receipts.mark('read', 1, 103, 3);
    receipts.mark('delivered', 1, 103, 3); // another kind has its own slot
    vi.advanceTimersByTime(1000);
    expect(sent.slice(2)).toEqual([{ type: 'mark_delivered', room: 1, message_id: 103 }]);
  });

  it('keeps a receipt queued while offline and sends it when possible', () => {
    let online = false;
    const sent: ClientFrame[] = [];
    const receipts = new ReceiptSender((f) => online && (sent.push(f), true), 500, () => Date.now());
    receipts.mark('delivered', 2, 9, 9);
    expect(sent).toEqual([]);
    online = true;
    receipts.mark('delivered', 2, 10, 10);
    expect(sent).toEqual([{ type: 'mark_delivered', room: 2, message_id: 10 }]);
  });
});

describe('typing', () => {
  it('sends typing true at most every 3 s and false once on stop', () => {
    const sent: ClientFrame[] = [];
    const typing = new TypingNotifier((f) => (sent.push(f), true), () => Date.now());
    typing.input(1);
    vi.advanceTimersByTime(1000);
    typing.input(1);
    vi.advanceTimersByTime(2100);
    typing.input(1);
    typing.stop(1);
    typing.stop(1);
    expect(sent.map((f) => (f.type === 'typing' ? f.is_typing : null))).toEqual([true, true, false]);
  });

  it('expires a typing entry 6 s after its last refresh', () => {
    const state = new Map<number, boolean>();
    const expiry = new TypingExpiry((_room, user, _name, isTyping) => state.set(user, isTyping));
    expiry.onFrame(1, 2, 'giorgi', true);
    vi.advanceTimersByTime(5000);
    expiry.onFrame(1, 2, 'giorgi', true); // refresh
    vi.advanceTimersByTime(5000);
    expect(state.get(2)).toBe(true);
    vi.advanceTimersByTime(1001);
    expect(state.get(2)).toBe(false);
  });
});

describe('RUM collector', () => {
  it('batches measurements, exposes them on __chatPerf, and caps each list at 500', () => {
    const target: { __chatPerf?: import('../src/features/rum/collector').ChatPerf } = {};
    const rum = new RumCollector(target);
    rum.sendVisible(4.25);
    for (let i = 0; i < 600; i++) rum.frameRate(60);
    const batch = rum.take()!;
    expect(batch.send_visible).toEqual([4.3]);
    expect(batch.frame_rate).toHaveLength(500);
    expect(batch.long_frames).toBeUndefined();
    expect(rum.take()).toBeNull();
    expect(target.__chatPerf).toMatchObject({ sendVisibleMs: [4.3] });
  });
});

describe('Enter -> visible probe', () => {
  function setup(eventTiming: boolean) {
    const target: { __chatPerf?: import('../src/features/rum/collector').ChatPerf } = {};
    const rum = new RumCollector(target);
    let deliver: ((entries: EventTimingEntry[]) => void) | null = null;
    const paints: (() => void)[] = [];
    let now = 0;
    const env: SendProbeEnv = {
      observeEvents: eventTiming ? (cb) => ((deliver = cb), () => (deliver = null)) : null,
      afterNextPaint: (cb) => void paints.push(cb),
      now: () => now,
      setTimeout: (cb, ms) => void setTimeout(cb, ms),
    };
    const probe = new SendVisibleProbe(rum, env);
    const paint = (at: number) => {
      now = at;
      paints.splice(0).forEach((cb) => cb());
    };
    return { probe, perf: target.__chatPerf!, paint, entries: (e: EventTimingEntry[]) => deliver!(e), rum };
  }

  it('takes the Event Timing duration of the keydown that sent, once', () => {
    const { probe, perf, paint, entries } = setup(true);
    probe.sent(1000.25);
    paint(1021);
    entries([
      { name: 'keyup', startTime: 1000.25, duration: 40 },
      { name: 'keydown', startTime: 990, duration: 48 }, // another keydown (no send)
      { name: 'keydown', startTime: 1000.25, duration: 24 },
    ]);
    vi.advanceTimersByTime(2000);
    expect(perf.sendVisibleMs).toEqual([24]);
    expect(perf.sendVisibleSource).toEqual(['event-timing']);
    expect(probe.usesEventTiming).toBe(true);
  });

  it('a send without an entry (faster than 16 ms) gets the after-paint measure, after a wait', () => {
    const { probe, perf, paint } = setup(true);
    probe.sent(2000);
    paint(2009.5);
    vi.advanceTimersByTime(999);
    expect(perf.sendVisibleMs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(perf.sendVisibleMs).toEqual([9.5]);
    expect(perf.sendVisibleSource).toEqual(['after-paint']);
  });

  it('without Event Timing, records the after-paint measure at once and feeds the RUM batch', () => {
    const { probe, perf, paint, rum } = setup(false);
    probe.sent(3000);
    paint(3012.3);
    expect(perf.sendVisibleMs).toEqual([12.3]);
    expect(rum.take()!.send_visible).toEqual([12.3]);
    expect(probe.usesEventTiming).toBe(false);
  });
});
