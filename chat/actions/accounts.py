"""Accounts: registration and the password check. Tokens are not the domain's: an edge issues
one for the user these return (accounts.tokens)."""
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chat.errors import Conflict, InvalidInput

User = get_user_model()


def register_user(username: object, password: object):
    """A new active user; Conflict when the name is taken."""
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("username is required", field="username")
    username = username.strip()
    if len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        raise InvalidInput("username: up to 150 letters, digits and @/./+/-/_", field="username")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, password=password)
    except IntegrityError as exc:
        raise Conflict("that username is taken", field="username") from exc


def check_credentials(username: object, password: object):
    """The user these credentials log in; InvalidInput (code bad_credentials) otherwise."""
    if not isinstance(username, str) or not username:
        raise InvalidInput("username is required", field="username")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    if "\x00" in username:  # PostgreSQL text cannot hold NUL: no such user
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    user = authenticate(username=username, password=password)
    if user is None:
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    return user
