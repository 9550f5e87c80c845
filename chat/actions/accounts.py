"""Accounts: registration and the password check. Tokens are not the domain's: an edge issues
one for the user these return (accounts.tokens).

A username is unique by its comparison key (chat.text.username_key), kept in UsernameKey next
to the user (made with every new user: user_saved); logging in with any spelling of the same
key finds the user.
"""
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chat import events
from chat.errors import Conflict, InvalidInput
from chat.models import UsernameKey
from chat.text import USERNAME_MAX, clean_username, username_key

User = get_user_model()


def register_user(username: object, password: object):
    """A new active user; Conflict when the name (by its key) is taken."""
    username = clean_username(username)
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    try:
        # The unsaved user lets UserAttributeSimilarityValidator compare with the username.
        validate_password(password, user=User(username=username))
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password)  # + its key: user_saved
    except IntegrityError as exc:
        raise Conflict("that username is taken", field="username") from exc


def _stored_username(username: str) -> str:
    """The username as registered for any spelling with the same key (else as given)."""
    stored = (User.objects.filter(username_key__key=username_key(username))
              .values_list("username", flat=True).first())
    return stored if stored is not None else username


def check_credentials(username: object, password: object):
    """The user these credentials log in; InvalidInput (code bad_credentials) otherwise."""
    if not isinstance(username, str) or not username:
        raise InvalidInput("username is required", field="username")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    if "\x00" in username or len(username) > USERNAME_MAX:  # PostgreSQL text cannot hold NUL: no such user
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    user = authenticate(username=_stored_username(username), password=password)
    if user is None:
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    return user


def user_saved(sender, instance, created: bool, **kwargs) -> None:
    """post_save of a user, however it was saved (registration, createsuperuser, a shell): a new
    user gets its username key (an IntegrityError when the name is taken by its key), and a
    deactivated user's sessions end and their open sockets close."""
    if created:
        UsernameKey.objects.create(user=instance, key=username_key(instance.username))
    elif not instance.is_active:
        events.publish_sessions_ended(instance.id)
