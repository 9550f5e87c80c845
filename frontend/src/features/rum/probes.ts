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

/**
 * Enter -> visible: called right after the pending row was committed to the DOM. The next
 * animation frame callback runs in the frame that paints it; the time from the keydown to then is
 * what the user waited.
 */
export function measureSendVisible(rum: RumCollector, keydownAt: number): void {
  requestAnimationFrame(() => rum.sendVisible(performance.now() - keydownAt));
}
