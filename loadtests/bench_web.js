// In-page instruments of loadtests/bench_web.py (added with page.add_init_script, called by
// page.evaluate): one function each for Playwright to call, kept in JavaScript where they run.
window.__benchWeb = {
  // In-page instruments: rAF deltas and Long Animation Frames / long tasks, from now on.
  instruments: () => {
    const perf = { deltas: [], loaf: [], longtask: [], running: true, loafSupported: false };
    let last = performance.now();
    const tick = (now) => { perf.deltas.push(now - last); last = now; if (perf.running) requestAnimationFrame(tick); };
    requestAnimationFrame((now) => { last = now; requestAnimationFrame(tick); });
    const types = PerformanceObserver.supportedEntryTypes || [];
    if (types.includes('long-animation-frame')) {
      perf.loafSupported = true;
      const list = document.querySelector('[data-testid="message-list"]');
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.duration > 50) perf.loaf.push({
        duration: Math.round(e.duration * 10) / 10, blocking: Math.round(e.blockingDuration), at: Math.round(e.startTime),
        // where the frame's time went: scripts, forced style/layout, the rendering update (style, layout, paint)
        script: Math.round((e.scripts || []).reduce((a, x) => a + x.duration, 0)),
        render: e.renderStart ? Math.round(e.startTime + e.duration - e.renderStart) : 0,
        styleLayout: e.styleAndLayoutStart ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0,
        rows: list ? list.querySelectorAll('[data-testid="message-item"]').length : null,
        scrollTop: list ? Math.round(list.scrollTop) : null,
        scripts: (e.scripts || []).slice().sort((a, b) => b.duration - a.duration).slice(0, 4).map((x) => ({
          invoker: x.invoker, invokerType: x.invokerType, fn: x.sourceFunctionName || '',
          src: (x.sourceURL || '').replace(location.origin, '') + (x.sourceCharPosition >= 0 ? `:${x.sourceCharPosition}` : ''),
          ms: Math.round(x.duration), forcedStyleLayout: Math.round(x.forcedStyleAndLayoutDuration || 0),
          start: Math.round(x.startTime - e.startTime),
        })),
      }); })
        .observe({ type: 'long-animation-frame' });
    }
    if (types.includes('longtask')) {
      new PerformanceObserver((l) => { for (const e of l.getEntries()) perf.longtask.push(e.duration); })
        .observe({ type: 'longtask' });
    }
    window.__bench = perf;
  },

  // Scroll the list at `step` px per frame towards `direction` (-1 up, +1 down) until the end of the
  // room is reached: at the top, the first message (seq 1) rendered and nothing loading; at the bottom,
  // scrollTop at its maximum. Resolves with the number of frames it took.
  scroll: async ([direction, step, firstSeq]) => {
    const el = document.querySelector('[data-testid="message-list"]');
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const started = performance.now();
    let frames = 0, stuck = 0;
    for (;;) {
      el.scrollTop += direction * step;
      await frame();
      frames += 1;
      if (direction < 0) {
        const done = el.scrollTop === 0 && document.querySelector(`[data-testid="message-item"][data-seq="${firstSeq}"]`)
          && !document.querySelector('.older-spinner');
        if (done) break;
      } else if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) {
        if (++stuck > 10) break;
      } else stuck = 0;
      if (performance.now() - started > 600000) throw new Error('scroll did not reach the end in 10 minutes');
    }
    return { frames, ms: performance.now() - started };
  },

  // Independent Enter -> painted: the keydown's timestamp to the first frame painted with the row;
  // the browser's Event Timing entries for those keydowns (durationThreshold 16: a send without an
  // entry took less than 16 ms to the next paint); whether the row is in the DOM in the first
  // animation frame after the keydown; and the main-thread time of the keydown's handlers (from a
  // listener on the input, which runs before React's root listener, to one on window, which runs after).
  watchSend: () => {
    const list = document.querySelector('[data-testid="message-list"]');
    const input = document.querySelector('[data-testid="message-input"]');
    const out = window.__sendPaint = [];
    const keydowns = window.__sendKeydowns = [];
    const eventTiming = window.__sendEventTiming = [];
    let keydownAt = null;
    let handlerStart = 0;
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      keydownAt = e.timeStamp;
      handlerStart = performance.now();
      const text = input.value.trim();
      const record = { at: e.timeStamp, text, handlerMs: null, rowInFirstRaf: null, firstRafMs: null };
      keydowns.push(record);
      requestAnimationFrame((frameTime) => {
        record.firstRafMs = frameTime - record.at;
        record.rowInFirstRaf = [...list.querySelectorAll('[data-testid="message-content"]')].some((n) => n.textContent === text);
      });
    }, true);
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && keydowns.length && keydowns[keydowns.length - 1].at === e.timeStamp)
        keydowns[keydowns.length - 1].handlerMs = performance.now() - handlerStart;
    });
    if ((PerformanceObserver.supportedEntryTypes || []).includes('event')) {
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name === 'keydown' && e.target === input)
        eventTiming.push({ at: e.startTime, duration: e.duration, inputDelay: e.processingStart - e.startTime,
                           processing: e.processingEnd - e.processingStart }); })
        .observe({ type: 'event', durationThreshold: 16 });
    }
    new MutationObserver((records) => {
      if (keydownAt === null) return;
      for (const r of records) for (const n of r.addedNodes) {
        if (!(n instanceof Element)) continue;
        const row = n.matches('[data-temp-id]') ? n : n.querySelector('[data-temp-id]');
        if (!row) continue;
        const t0 = keydownAt; keydownAt = null;
        const inDom = performance.now() - t0;
        // rAF runs before this frame's paint; a task posted from it runs after the paint.
        requestAnimationFrame((frameTime) => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => out.push({ inDom, frame: frameTime - t0, painted: performance.now() - t0 });
          ch.port2.postMessage(0);
        });
        return;
      }
    }).observe(list, { childList: true, subtree: true });
  },
};
