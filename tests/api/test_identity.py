"""Usernames: one per NFKC + case-folded key, confusable mixes refused, bidi controls removed,
Georgian never case-mapped. Passwords: Django's validators plus visible characters."""
import pytest

from chat.models import UsernameKey
from chat.text import username_key
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-pass-9"


def register(client, username, password=PASSWORD):
    return client.post("/api/auth/register/", {"username": username, "password": password}, format="json")


@pytest.mark.parametrize("twin", ["NINO", "Nino", "ｎｉｎｏ", "nİno".replace("İ", "I")])
def test_a_username_in_another_case_or_width_is_taken(api_client, twin):
    assert register(api_client(), "nino").status_code == 201
    assert_error(register(api_client(), twin), 409, "username")


def test_login_with_another_spelling_of_the_same_name(api_client):
    assert register(api_client(), "Tamar").status_code == 201
    r = api_client().post("/api/auth/token/", {"username": "TAMAR", "password": PASSWORD}, format="json")
    assert r.status_code == 200 and r.json()["user"]["username"] == "Tamar"  # shown as registered


def test_confusable_mixed_script_names_are_refused(api_client):
    data = assert_error(register(api_client(), "n\u0456no"), 400, "username")  # Cyrillic і among Latin
    assert data["code"] == "confusable"
    assert_error(register(api_client(), "p\u0430ypal"), 400, "username")  # Cyrillic а


def test_georgian_names_stay_as_typed(api_client):
    r = register(api_client(), "ნინო")
    assert r.status_code == 201 and r.json()["user"]["username"] == "ნინო"
    assert UsernameKey.objects.get(user_id=r.json()["user"]["id"]).key == "ნინო"
    # Mtavruli (Georgian capitals) folds onto Mkhedruli: the same name
    assert username_key("ᲜᲘᲜᲝ") == "ნინო"
    assert_error(register(api_client(), "ᲜᲘᲜᲝ"), 409, "username")
    assert register(api_client(), "გიორგი_2").status_code == 201


def test_bidi_controls_are_removed_from_usernames(api_client):
    r = register(api_client(), "\u202eevil\u2066name\u2069")
    assert r.status_code == 201 and r.json()["user"]["username"] == "evilname"


@pytest.mark.parametrize("password", [
    " " * 12,  # whitespace only
    "\x00" * 12,  # NULs
    "abc\x1bdefghij",  # an escape
    "secret\u202eword1",  # a bidi override
    "83749201938",  # only digits
    "samantha-user",  # close to the username
])
def test_weak_or_invisible_passwords_are_refused(api_client, password):
    assert_error(register(api_client(), "samantha-user", password), 400, "password")


def test_password_like_the_username_is_refused(api_client):
    assert_error(register(api_client(), "levanisgreat", "levanisgreat1"), 400, "password")


def test_every_new_user_gets_a_key_and_the_migration_fills_old_ones(make_user):
    import importlib

    from django.apps import apps as global_apps
    from django.db import IntegrityError, transaction

    user = make_user("Made-Directly")  # outside register_user: the key comes with the user
    assert UsernameKey.objects.get(user=user).key == "made-directly"
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("MADE-directly")
    UsernameKey.objects.filter(user=user).delete()  # a user from before the migration
    importlib.import_module("chat.migrations.0002_usernamekey").fill_keys(global_apps, None)
    assert UsernameKey.objects.get(user=user).key == "made-directly"
