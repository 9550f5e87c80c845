"""Hypothesis over the inputs that reach real rows (the schemathesis run mostly hits unknown
ids): sends, edits, history queries and reactions in a real room. Never a 500; every refusal is
the error shape naming a field."""
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

SETTINGS = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
# Any Unicode text, including lone surrogates (JSON can spell them) and controls.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                       max_leaves=6)


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()  # \\uXXXX keeps lone surrogates encodable


def _check(response):
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error(response, response.status_code)


@SETTINGS
@given(content=JSONISH | TEXT, temp_id=JSONISH | TEXT)
def test_send_never_500(trio, content, temp_id):
    body = {"room": trio["room"]["id"], "content": content, "temp_id": temp_id}
    r = trio["a"].post("/api/chat/messages/", _dumps(body), content_type="application/json")
    _check(r)
    if r.status_code >= 400:
        assert set(r.json()["errors"]) & {"content", "temp_id"}


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(["room", "content", "temp_id", "x"]), JSONISH, max_size=4))
def test_send_any_body_never_500(trio, body):
    _check(trio["a"].post("/api/chat/messages/", _dumps(body), content_type="application/json"))


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["limit", "before", "after", "around", "x"]),
                              st.integers(-5, 2**70).map(str) | TEXT.map(lambda t: t.replace("\x00", "")),
                              max_size=3))
def test_history_params_never_500(trio, params):
    query = "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())
    r = trio["b"].get(f"/api/chat/messages/?room={trio['room']['id']}&{query}")
    _check(r)


@SETTINGS
@given(emoji=st.text(min_size=1, max_size=20))
def test_reaction_emoji_never_500(trio, emoji):
    mid = trio["a"].post("/api/chat/messages/", {"room": trio["room"]["id"], "content": "react", "temp_id": "fz"},
                         format="json").json()["id"]
    r = trio["b"].put(f"/api/chat/messages/{mid}/reactions/{quote(emoji, safe='')}/")
    _check(r)


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(["name", "kind", "members"]), JSONISH, max_size=3))
def test_create_room_never_500(trio, body):
    _check(trio["a"].post("/api/chat/rooms/", _dumps(body), content_type="application/json"))
