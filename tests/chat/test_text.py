"""The lone-surrogate rule both edges apply (chat.text): any depth of nesting, the field named."""
import pytest

from chat.errors import InvalidInput
from chat.text import has_lone_surrogate, refuse_lone_surrogates


def _nested(depth: int, leaf) -> list:
    value = leaf
    for _ in range(depth):
        value = [{"k": value}]
    return value


def test_deep_nesting_is_walked_without_recursion():
    assert has_lone_surrogate(_nested(100_000, "\ud800")) is True
    assert has_lone_surrogate(_nested(100_000, "გამარჯობა 😀")) is False


def test_refusal_names_the_field():
    refuse_lone_surrogates({"content": "ok 😀", "n": 1, "list": [None, True, 2.5]})
    with pytest.raises(InvalidInput) as info:
        refuse_lone_surrogates({"content": "fine", "temp_id": ["x", {"y": "\udc00"}]})
    assert info.value.field == "temp_id"
    with pytest.raises(InvalidInput) as info:
        refuse_lone_surrogates({"\ud83d": "value"})
    assert info.value.field == "non_field_errors"
