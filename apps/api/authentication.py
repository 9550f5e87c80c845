from rest_framework import authentication, exceptions

from accounts import tokens


class SessionTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`: a live token of an active user (accounts.tokens). The
    request's `auth` is its accounts.tokens.Session, which logout revokes."""

    def authenticate_credentials(self, key):
        session = tokens.resolve(key)
        if session is None:
            raise exceptions.AuthenticationFailed("invalid or expired token")
        return session.user, session
