import type { RumBatch } from '../../lib/api/types';

const MAX_ITEMS = 500;

export interface ChatPerf {
  sendVisibleMs: number[];
  /** Where each `sendVisibleMs` value came from: the browser's Event Timing, or the app's after-paint probe. */
  sendVisibleSource: string[];
  frameRates: number[];
  longFrames: number[];
}

declare global {
  interface Window {
    __chatPerf?: ChatPerf;
  }
}

function pushCapped(list: number[], value: number): void {
  list.push(Math.round(value * 10) / 10);
  if (list.length > MAX_ITEMS) list.splice(0, list.length - MAX_ITEMS);
}

/**
 * Measurements waiting to be sent, plus the last ones on `window.__chatPerf` for benchmarks.
 * Capped at 500 items per list (the RUM endpoint's limit).
 */
export class RumCollector {
  readonly perf: ChatPerf = { sendVisibleMs: [], sendVisibleSource: [], frameRates: [], longFrames: [] };
  private batch: Required<RumBatch> = { frame_rate: [], long_frames: [], send_visible: [] };

  constructor(target: { __chatPerf?: ChatPerf } | undefined = typeof window === 'undefined' ? undefined : window) {
    if (target) target.__chatPerf = this.perf;
  }

  frameRate(fps: number): void {
    pushCapped(this.batch.frame_rate, fps);
    pushCapped(this.perf.frameRates, fps);
  }

  longFrame(ms: number): void {
    pushCapped(this.batch.long_frames, ms);
    pushCapped(this.perf.longFrames, ms);
  }

  sendVisible(ms: number, source = 'after-paint'): void {
    pushCapped(this.batch.send_visible, ms);
    pushCapped(this.perf.sendVisibleMs, ms);
    this.perf.sendVisibleSource.push(source);
    if (this.perf.sendVisibleSource.length > MAX_ITEMS) this.perf.sendVisibleSource.splice(0, this.perf.sendVisibleSource.length - MAX_ITEMS);
  }

  /** Hand over what is waiting (only non-empty lists), or null when there is nothing. */
  take(): RumBatch | null {
    const batch: RumBatch = {};
    let any = false;
    for (const key of ['frame_rate', 'long_frames', 'send_visible'] as const) {
      if (this.batch[key].length) {
        batch[key] = this.batch[key];
        any = true;
      }
    }
    this.batch = { frame_rate: [], long_frames: [], send_visible: [] };
    return any ? batch : null;
  }
}
