import pytest


def assert_error(response, status: int, field: str | None = None):
    """A 4xx in the one error shape {"detail": ..., "errors": {field: [...]}}, naming `field`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert isinstance(data.get("detail"), str) and data["detail"]
    assert isinstance(data.get("errors"), dict)
    for messages in data["errors"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    if field is not None:
        assert field in data["errors"], data
    return data


@pytest.fixture
def trio(make_user, make_room, api_client):
    """alice (owner) and bob in a room; carol outside it. Clients authenticated by token."""
    alice, bob, carol = make_user(), make_user(), make_user()
    room = make_room(owner=alice, members=[bob], name="ოთახი")
    return {"alice": alice, "bob": bob, "carol": carol, "room": room,
            "a": api_client(alice), "b": api_client(bob), "c": api_client(carol), "anon": api_client()}
