from rest_framework import authentication, exceptions

from accounts import tokens


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; a key past CHAT_TOKEN_TTL_SECONDS is refused like an unknown one."""

    def authenticate_credentials(self, key):
        user = tokens.user_for_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed("invalid or expired token")
        return user, key
