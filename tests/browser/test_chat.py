"""Two people chatting in two browser contexts: text, typing, receipts, offline sends."""
import pytest
from playwright.sync_api import expect

from chat.models import Message

from .helpers import contents, item_by_seq, log_in, open_room, send

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Mkhedruli, an emoji, markup-looking text and entities: all must arrive exactly as typed.
GEORGIAN = "გამარჯობა, ნინო! როგორ ხარ? <b>თბილისი</b> &amp; \"ბათუმი\" 🙂"
GEORGIAN_REPLY = "კარგად, გმადლობ! ხვალ შევხვდეთ — 10:00-ზე."


def test_georgian_round_trip_typing_and_read_ticks(chat_server, new_page, browser_user, browser_room):
    nino, giorgi = browser_user("ნინო_n"), browser_user("giorgi")
    room = browser_room(owner=nino, members=[giorgi], name="საუბარი")
    a, b = new_page(), new_page()
    log_in(a, chat_server, "ნინო_n")
    log_in(b, chat_server, "giorgi")
    open_room(a, room["id"])
    open_room(b, room["id"])

    # Typing shows up on the other side while it happens, with who it is.
    a.get_by_test_id("message-input").press_sequentially("გამ", delay=30)
    expect(b.get_by_test_id("typing-indicator")).to_have_text("ნინო_n is typing…")

    a.get_by_test_id("message-input").fill(GEORGIAN)
    a.get_by_test_id("message-input").press("Enter")
    expect(a.get_by_test_id("message-input")).to_have_value("")

    # The receiver sees exactly the typed text (no escaping, no case mapping), once.
    mine = item_by_seq(a, 1)
    theirs = item_by_seq(b, 1)
    expect(theirs.get_by_test_id("message-content")).to_have_text(GEORGIAN)
    expect(b.get_by_test_id("message-item")).to_have_count(1)
    expect(b.get_by_test_id("typing-indicator")).to_have_text("")
    stored = Message.objects.get(room_id=room["id"], seq=1)
    assert stored.content == GEORGIAN
    assert stored.sender_id == nino.id

    # Giorgi has it on screen in a focused window: Nino's ticks reach "read".
    expect(mine).to_have_attribute("data-status", "read")
    expect(mine.get_by_test_id("message-content")).to_have_text(GEORGIAN)

    # And back.
    send(b, GEORGIAN_REPLY)
    expect(item_by_seq(a, 2).get_by_test_id("message-content")).to_have_text(GEORGIAN_REPLY)
    expect(item_by_seq(b, 2)).to_have_attribute("data-status", "read")
    assert contents(a) == [GEORGIAN, GEORGIAN_REPLY]
    assert contents(b) == [GEORGIAN, GEORGIAN_REPLY]
    assert Message.objects.get(room_id=room["id"], seq=2).content == GEORGIAN_REPLY
    assert a.errors == [] and b.errors == []


def test_offline_sends_arrive_once_in_order_after_reconnect(chat_server, new_page, browser_user, browser_room):
    nino, giorgi = browser_user("nino"), browser_user("giorgi")
    room = browser_room(owner=nino, members=[giorgi], name="offline")
    a, b = new_page(), new_page()
    log_in(a, chat_server, "nino")
    log_in(b, chat_server, "giorgi")
    open_room(a, room["id"])
    open_room(b, room["id"])
    send(a, "before")
    expect(item_by_seq(b, 1).get_by_test_id("message-content")).to_have_text("before")
    # The fan-out may reach giorgi before nino's own confirmation arrives: wait for it, so only
    # the three offline sends are pending below.
    expect(a.locator('[data-testid="message-item"][data-status="pending"]')).to_have_count(0)

    # The network goes away (DevTools network emulation, as the OS would report it): the app
    # drops its socket and says so.
    a.context.set_offline(True)
    status = a.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "offline")

    texts = ["ერთი (one)", "ორი (two)", "სამი (three)"]
    for text in texts:
        send(a, text)
    pending = a.locator('[data-testid="message-item"][data-status="pending"]')
    expect(pending).to_have_count(3)
    assert pending.get_by_test_id("message-content").all_inner_texts() == texts
    assert all(pending.nth(i).get_attribute("data-temp-id") for i in range(3))
    a.wait_for_timeout(1500)  # long enough for a send that leaked through to be stored
    assert Message.objects.filter(room_id=room["id"]).count() == 1, "sent while offline"
    assert contents(b) == ["before"]
    expect(status).to_have_attribute("data-state", "offline")  # no reconnect attempts while offline

    a.context.set_offline(False)
    expect(status).to_have_attribute("data-state", "online")
    expect(b.get_by_test_id("message-item")).to_have_count(4)
    expect(a.locator('[data-testid="message-item"][data-status="pending"]')).to_have_count(0)
    for seq, text in enumerate(texts, start=2):
        expect(item_by_seq(b, seq).get_by_test_id("message-content")).to_have_text(text)
        expect(item_by_seq(a, seq)).to_have_attribute("data-status", "read")
    a.wait_for_timeout(500)  # a duplicate would show up by now
    assert contents(b) == ["before", *texts]
    assert contents(a) == ["before", *texts]
    stored = list(Message.objects.filter(room_id=room["id"]).order_by("seq").values_list("seq", "content", "sender_id"))
    assert stored == [(1, "before", nino.id)] + [(i, t, nino.id) for i, t in enumerate(texts, start=2)]
    assert a.errors == [] and b.errors == []
