"""Reactions are real emoji (the `emoji` package's data), at most 20 per user per message;
names lose bidi controls, message text keeps them."""
import pytest

from chat import actions
from chat.errors import ChatError, InvalidInput
from chat.text import clean_emoji, clean_room_name

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("emoji", ["👍", "❤️", "👨‍👩‍👧", "🏳️‍🌈", "🇬🇪", "👍🏽", "1️⃣", "🧑🏿‍💻"])
def test_real_emoji_are_reactions(emoji):
    assert clean_emoji(emoji) == emoji


@pytest.mark.parametrize("emoji", ["\u200b", "..", "\ufffd", "\u202e", "<>", "$", "a", "👍👍", "👍 ", "", "x" * 40,
                                   "\u00a9a", 5, None])
def test_anything_else_is_refused(emoji):
    with pytest.raises(InvalidInput):
        clean_emoji(emoji)


def test_at_most_20_distinct_reactions_per_user_per_message(make_user, make_room):
    import emoji as emoji_data

    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob])
    message = actions.send_message(alice, room_id=room["id"], content="react", temp_id="r").message
    faces = [e for e in emoji_data.EMOJI_DATA if len(e) == 1][:21]
    for face in faces[:20]:
        actions.set_reaction(bob, message_id=message["id"], emoji=face, present=True)
    with pytest.raises(ChatError) as refused:
        actions.set_reaction(bob, message_id=message["id"], emoji=faces[20], present=True)
    assert refused.value.code == "too_many_reactions" and refused.value.status == 409
    # a repeat of one already there is fine, and another user has their own 20
    actions.set_reaction(bob, message_id=message["id"], emoji=faces[0], present=True)
    updated = actions.set_reaction(alice, message_id=message["id"], emoji=faces[20], present=True)
    assert sum(r["count"] for r in updated["reactions"]) == 21


def test_room_names_lose_bidi_controls_and_messages_keep_them(make_user, make_room):
    assert clean_room_name("\u202etxet\u202c room\u2067") == "txet room"
    alice = make_user()
    room = make_room(owner=alice, name="\u202ereversed")
    assert room["name"] == "reversed"
    sent = actions.send_message(alice, room_id=room["id"], content="abc \u202edef\u202c ghi", temp_id="b").message
    assert sent["content"] == "abc \u202edef\u202c ghi"
