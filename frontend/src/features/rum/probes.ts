import type { RumCollector } from './collector';

const LONG_FRAME_MS = 50;
const SCROLL_IDLE_MS = 400;

/**
 * Frame rate while the list scrolls: a requestAnimationFrame loop that runs only during scrolling
 * (so an idle tab costs nothing) and records frames per second for each full second sampled.
 */
export class ScrollFrameSampler {
  private running = false;
  private lastScrollAt = 0;
  private windowStart = 0;
  private frames = 0;
  private lastFrameAt = 0;

  constructor(
    private readonly rum: RumCollector,
    private readonly recordLongFrames: boolean,
  ) {}

  onScroll(): void {
    this.lastScrollAt = performance.now();
    if (this.running) return;
    this.running = true;
    this.windowStart = this.lastFrameAt = this.lastScrollAt;
    this.frames = 0;
    requestAnimationFrame(this.tick);
  }

  private readonly tick = (now: number): void => {
    this.frames += 1;
    if (this.recordLongFrames && now - this.lastFrameAt > LONG_FRAME_MS) this.rum.longFrame(now - this.lastFrameAt);
    this.lastFrameAt = now;
    if (now - this.windowStart >= 1000) {
      this.rum.frameRate((this.frames * 1000) / (now - this.windowStart));
      this.windowStart = now;
      this.frames = 0;
    }
    if (now - this.lastScrollAt > SCROLL_IDLE_MS) {
      this.running = false;
      return;
    }
    requestAnimationFrame(this.tick);
  };
}

/** Long Animation Frames where the browser has them, else long tasks. Returns false if neither. */
export function observeLongFrames(rum: RumCollector): boolean {
  if (typeof PerformanceObserver === 'undefined') return false;
  const supported = PerformanceObserver.supportedEntryTypes ?? [];
  const type = supported.includes('long-animation-frame') ? 'long-animation-frame' : supported.includes('longtask') ? 'longtask' : null;
  if (!type) return false;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.duration > LONG_FRAME_MS) rum.longFrame(entry.duration);
  });
  observer.observe({ type, buffered: false });
  return true;
}

/** Event Timing reports only events at least this long (16 ms is the smallest threshold allowed). */
const EVENT_TIMING_THRESHOLD_MS = 16;
/** How long a send waits for its Event Timing entry before it counts as below the threshold. */
const ENTRY_WAIT_MS = 1000;
const SEND_TARGETS = '[data-testid="message-input"], [data-testid="message-send"]';

export type SendVisibleSource = 'event-timing' | 'after-paint';

/** The fields of a PerformanceEventTiming entry the probe reads. */
export interface EventTimingEntry {
  name: string;
  startTime: number;
  duration: number;
}

/** What the probe needs from the browser; tests pass their own. */
export interface SendProbeEnv {
  /**
   * Subscribe to Event Timing entries of the message input / send button (threshold 16 ms), or
   * null when the browser has no Event Timing. Returns the unsubscribe.
   */
  observeEvents: ((onEntries: (entries: EventTimingEntry[]) => void) => () => void) | null;
  /** Run `callback` in the first task after the next frame was rendered (rAF, then a posted task). */
  afterNextPaint: (callback: () => void) => void;
  now: () => number;
  setTimeout: (callback: () => void, ms: number) => void;
}

function isSendTarget(target: Node | null | undefined): boolean {
  return target instanceof Element && target.closest(SEND_TARGETS) !== null;
}

export function browserSendProbeEnv(): SendProbeEnv {
  const types = typeof PerformanceObserver === 'undefined' ? [] : (PerformanceObserver.supportedEntryTypes ?? []);
  const observeEvents: SendProbeEnv['observeEvents'] = types.includes('event')
    ? (onEntries) => {
        const observer = new PerformanceObserver((list) => {
          const entries = (list.getEntries() as PerformanceEventTiming[]).filter((e) => isSendTarget(e.target));
          if (entries.length) onEntries(entries);
        });
        observer.observe({ type: 'event', durationThreshold: EVENT_TIMING_THRESHOLD_MS, buffered: false } as PerformanceObserverInit);
        return () => observer.disconnect();
      }
    : null;
  // One channel for all sends: a message posted from a rAF callback is handled in the first task
  // after that frame's rendering (style, layout, paint), i.e. once the row was painted.
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return {
    observeEvents,
    afterNextPaint: (callback) =>
      requestAnimationFrame(() => {
        queue.push(callback);
        channel.port2.postMessage(null);
      }),
    now: () => performance.now(),
    setTimeout: (callback, ms) => void setTimeout(callback, ms),
  };
}

interface WaitingSend {
  at: number;
  afterPaint: number | null;
  done: boolean;
}

/**
 * Enter -> visible, by the browser's own definition where it has one: the Event Timing entry of
 * the keydown (or click) that sent, whose `duration` runs from the event's timeStamp to the next
 * paint after its handlers ran (rounded to 8 ms). Event Timing reports only events of 16 ms or
 * more, so a send without an entry was faster than that: it is recorded with the app's own
 * measure, the event's timeStamp to the first task after the next rendered frame (which is also
 * the whole measure in browsers without Event Timing). Cost per send: one rAF, one posted message,
 * one timer; the observer sees only events of 16 ms or more.
 */
export class SendVisibleProbe {
  private readonly waiting: WaitingSend[] = [];
  private readonly unsubscribe: (() => void) | null;

  constructor(
    private readonly rum: RumCollector,
    private readonly env: SendProbeEnv = browserSendProbeEnv(),
  ) {
    this.unsubscribe = env.observeEvents ? env.observeEvents((entries) => this.onEntries(entries)) : null;
  }

  get usesEventTiming(): boolean {
    return this.unsubscribe !== null;
  }

  /** A message was sent by the event with this timeStamp; its pending row is committed already. */
  sent(eventAt: number): void {
    const send: WaitingSend = { at: eventAt, afterPaint: null, done: false };
    this.waiting.push(send);
    this.env.afterNextPaint(() => {
      send.afterPaint = this.env.now() - eventAt;
      if (!this.usesEventTiming) this.finish(send, send.afterPaint, 'after-paint');
      else this.env.setTimeout(() => this.finish(send, send.afterPaint!, 'after-paint'), ENTRY_WAIT_MS);
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private onEntries(entries: EventTimingEntry[]): void {
    for (const entry of entries) {
      if (entry.name !== 'keydown' && entry.name !== 'click') continue;
      // The entry's startTime is the event's timeStamp.
      const send = this.waiting.find((w) => Math.abs(w.at - entry.startTime) < 1);
      if (send) this.finish(send, entry.duration, 'event-timing');
    }
  }

  private finish(send: WaitingSend, ms: number, source: SendVisibleSource): void {
    if (send.done) return;
    send.done = true;
    this.waiting.splice(this.waiting.indexOf(send), 1);
    this.rum.sendVisible(ms, source);
  }
}
