import { api } from '../../lib/api/client';
import { RumCollector } from './collector';
import { observeLongFrames, ScrollFrameSampler, SendVisibleProbe } from './probes';

const FLUSH_EVERY_MS = 10_000;

export interface Rum {
  collector: RumCollector;
  sampler: ScrollFrameSampler;
  /** Enter -> visible of each send (Event Timing, else the app's after-paint probe). */
  sends: SendVisibleProbe;
  stop: () => void;
}

/** Start RUM for the page: batches go to POST /api/rum/ every 10 s and when the page is hidden. */
export function startRum(): Rum {
  const collector = new RumCollector();
  const observed = observeLongFrames(collector);
  const sampler = new ScrollFrameSampler(collector, !observed);
  const sends = new SendVisibleProbe(collector);
  const flush = () => {
    const batch = collector.take();
    // keepalive lets the request outlive the page; sendBeacon cannot carry the Token header.
    if (batch) api.postRum(batch).catch(() => undefined);
  };
  const interval = setInterval(flush, FLUSH_EVERY_MS);
  const onHide = () => flush();
  window.addEventListener('pagehide', onHide);
  const onVisibility = () => document.visibilityState === 'hidden' && flush();
  document.addEventListener('visibilitychange', onVisibility);
  return {
    collector,
    sampler,
    sends,
    stop: () => {
      sends.stop();
      clearInterval(interval);
      window.removeEventListener('pagehide', onHide);
      document.removeEventListener('visibilitychange', onVisibility);
      flush();
    },
  };
}
