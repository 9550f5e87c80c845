"""Password rules beyond Django's validators (AUTH_PASSWORD_VALIDATORS)."""
import unicodedata

from django.core.exceptions import ValidationError


class VisibleCharactersValidator:
    """No password of only whitespace, and no control characters (NUL, escapes, bidi controls):
    they cannot be typed reliably and hide what the password really is."""

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError("The password cannot be only whitespace.", code="password_whitespace")
        if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d" for ch in password):
            raise ValidationError("The password cannot contain control characters.", code="password_control")

    def get_help_text(self) -> str:
        return "Your password cannot be only whitespace or contain control characters."
