"""A long room: paging older history in at the top without moving what the reader looks at, and
the "new messages" pill while scrolled up."""
import uuid

import pytest
from playwright.sync_api import expect

from chat import actions

from .helpers import api_token, http_json, item_by_seq, log_in, open_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HISTORY = 2_000
PAGE = 100  # the SPA pages history 100 at a time (the API maximum)
TOLERANCE_PX = 2

# Records where the anchor message is on screen in every painted frame (null: not rendered).
# A read in requestAnimationFrame would see the layout before that frame's ResizeObserver callbacks,
# where the virtualizer corrects row sizes and the scroll position; the user never sees that state.
# So the sample is taken in a task posted from rAF, which runs after the frame's rendering steps,
# and it is kept only if the DOM did not change since those steps (a task such as the page's
# fetch landing in between would make the read differ from what was painted).
TRACK_ANCHOR = """(seq) => {
  const state = { seq, tops: [], dropped: 0, running: true };
  const list = document.querySelector('[data-testid="message-list"]');
  const ticker = document.body.appendChild(document.createElement('div'));
  ticker.style.cssText = 'position:fixed;left:0;top:0;height:1px;width:1px;visibility:hidden';
  let renderedAt = 0, mutatedAt = 0;
  const ro = new ResizeObserver(() => { renderedAt = performance.now(); });
  ro.observe(ticker);
  const mo = new MutationObserver(() => { mutatedAt = performance.now(); });
  mo.observe(list, { subtree: true, childList: true, attributes: true, characterData: true });
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    if (mutatedAt > renderedAt) { state.dropped += 1; return; }
    const el = document.querySelector(`[data-testid="message-item"][data-seq="${seq}"]`);
    state.tops.push(el ? el.getBoundingClientRect().top : null);
  };
  const tick = () => {
    if (!state.running) { ro.disconnect(); mo.disconnect(); ticker.remove(); return; }
    ticker.style.width = ticker.style.width === '1px' ? '2px' : '1px';
    channel.port2.postMessage(0);
    requestAnimationFrame(tick);
  };
  window.__anchor = state;
  requestAnimationFrame(tick);
}"""

# The first message fully inside the scrolling element: what the reader is looking at.
FIRST_VISIBLE = """() => {
  const list = document.querySelector('[data-testid="message-list"]').getBoundingClientRect();
  for (const el of document.querySelectorAll('[data-testid="message-item"]')) {
    const r = el.getBoundingClientRect();
    if (r.top >= list.top && r.bottom <= list.bottom) return Number(el.dataset.seq);
  }
  return null;
}"""

FIRST_VISIBLE_TOP = """(seq) => {
  const el = document.querySelector(`[data-testid="message-item"][data-seq="${seq}"]`);
  return el ? el.getBoundingClientRect().top : null;
}"""

STABLE_SCROLL = """async () => {
  const el = document.querySelector('[data-testid="message-list"]');
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  let last = -1, same = 0;
  while (same < 4) { await frame(); same = el.scrollTop === last ? same + 1 : 0; last = el.scrollTop; }
  return el.scrollTop;
}"""


def long_room(browser_user, browser_room, reader_name="reader"):
    reader, writer = browser_user(reader_name), browser_user("writer")
    room = browser_room(owner=reader, members=[writer], name="long room")
    rows = [((reader if i % 3 == 0 else writer).id,
             f"{'ძველი შეტყობინება' if i % 2 else 'history line'} #{i + 1}" + (" — a longer line that wraps" * (i % 5)))
            for i in range(HISTORY)]
    actions.import_messages(room["id"], rows)
    return reader, writer, room


def test_scrolling_to_the_top_loads_older_pages_without_moving_the_visible_messages(
        chat_server, new_page, browser_user, browser_room):
    reader, writer, room = long_room(browser_user, browser_room)
    page = new_page()
    held = []
    page.route("**/api/chat/messages/?*before=*", lambda route: held.append(route))
    log_in(page, chat_server, "reader")
    open_room(page, room["id"])
    expect(item_by_seq(page, HISTORY)).to_be_visible()
    listbox = page.get_by_test_id("message-list")
    listbox.hover()

    pages_loaded = 0
    worst = 0.0
    samples = dropped = 0
    for _ in range(HISTORY // PAGE + 5):
        # Scroll up with the wheel until the list asks for the next older page (held in flight).
        for _ in range(40):
            if held:
                break
            page.mouse.wheel(0, -700)
            page.wait_for_timeout(40)
        if not held:
            break
        page.evaluate(STABLE_SCROLL)
        anchor = page.evaluate(FIRST_VISIBLE)
        assert anchor is not None
        before = page.evaluate(FIRST_VISIBLE_TOP, anchor)
        page.evaluate(TRACK_ANCHOR, anchor)
        route = held.pop()
        route.continue_()
        # The page is in when a row older than the anchor's page shows up in the DOM, then give
        # the virtualizer a few frames to measure the new rows.
        page.wait_for_function("() => !document.querySelector('.older-spinner')")
        page.evaluate(STABLE_SCROLL)
        settled = page.evaluate(FIRST_VISIBLE_TOP, anchor)
        tops = page.evaluate("() => { window.__anchor.running = false; return window.__anchor.tops; }")
        assert settled is not None and abs(settled - before) <= TOLERANCE_PX, (
            f"page {pages_loaded + 1}: anchor #{anchor} at {before:.1f}px before the load, {settled}px after")
        assert tops and None not in tops, f"anchor #{anchor} left the DOM during page load {pages_loaded + 1}"
        drift = max(abs(t - before) for t in tops)
        worst = max(worst, drift)
        assert drift <= TOLERANCE_PX, (
            f"page {pages_loaded + 1}: anchor #{anchor} moved {drift:.1f}px (tops per frame {tops[:20]})")
        samples += len(tops)
        dropped += page.evaluate("() => window.__anchor.dropped")
        pages_loaded += 1

    # Every older page came in and the very first message is reachable.
    assert pages_loaded == HISTORY // PAGE - 1, pages_loaded
    for _ in range(10):
        page.mouse.wheel(0, -3000)
    page.evaluate(STABLE_SCROLL)
    expect(item_by_seq(page, 1)).to_be_visible()
    expect(item_by_seq(page, 1).get_by_test_id("message-content")).to_have_text("history line #1")
    assert not held, "asked for a page older than the first message"
    print(f"{pages_loaded} pages, worst anchor drift {worst:.2f}px, {samples} painted-frame samples ({dropped} dropped)")
    assert page.errors == []


def test_new_messages_pill_while_scrolled_up_and_follow_at_the_bottom(chat_server, new_page, browser_user, browser_room):
    reader, writer, room = long_room(browser_user, browser_room)
    page = new_page()
    log_in(page, chat_server, "reader")
    open_room(page, room["id"])
    expect(item_by_seq(page, HISTORY)).to_be_visible()
    token = api_token(chat_server, "writer")

    def post(text):
        return http_json(chat_server, "POST", "/api/chat/messages/",
                         {"room": room["id"], "content": text, "temp_id": uuid.uuid4().hex}, token)

    # At the bottom: a new message is followed, no pill.
    post("ახალი ამბავი (at the bottom)")
    expect(item_by_seq(page, HISTORY + 1)).to_be_visible()
    expect(item_by_seq(page, HISTORY + 1)).to_be_in_viewport()
    expect(page.get_by_test_id("new-messages-pill")).to_have_count(0)

    # Scrolled up: the list stays where the reader is and the pill counts what arrived.
    page.get_by_test_id("message-list").hover()
    page.mouse.wheel(0, -1500)
    page.evaluate(STABLE_SCROLL)
    anchor = page.evaluate(FIRST_VISIBLE)
    before = item_by_seq(page, anchor).bounding_box()["y"]
    post("პირველი (one)")
    pill = page.get_by_test_id("new-messages-pill")
    expect(pill).to_have_text("1 new message ↓")
    post("მეორე (two)")
    expect(pill).to_have_text("2 new messages ↓")
    assert abs(item_by_seq(page, anchor).bounding_box()["y"] - before) <= TOLERANCE_PX
    expect(item_by_seq(page, HISTORY + 3)).not_to_be_in_viewport()

    pill.click()
    expect(item_by_seq(page, HISTORY + 3)).to_be_in_viewport()
    expect(item_by_seq(page, HISTORY + 3).get_by_test_id("message-content")).to_have_text("მეორე (two)")
    expect(pill).to_have_count(0)
    assert page.errors == []
