"""User text rules: NFC, limits in code points, never case-mapped (Georgian Mkhedruli would
turn into Mtavruli), never escaped."""
import re
import unicodedata

import emoji as emoji_data
from confusable_homoglyphs import confusables
from django.conf import settings

from chat.errors import InvalidInput

# C0/C1 controls other than tab and newline are refused: they render as garbage or spoof layout.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TEMP_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Bidi embedding, override and isolate controls (and the directional marks): in a name they
# can reverse the text around it in every list that shows it. Message text keeps them (the
# web app isolates each message); names lose them.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
USERNAME_MAX = 150
REACTIONS_PER_USER_PER_MESSAGE = 20


def clean_content(content: object, field: str = "content") -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be a string", field=field)
    text = unicodedata.normalize("NFC", content.replace("\r\n", "\n"))
    if not text.strip():
        raise InvalidInput("content must not be empty or only whitespace", field=field)
    limit = settings.CHAT_MAX_CONTENT_CODE_POINTS
    if len(text) > limit:  # len() of a str counts code points
        raise InvalidInput(f"content is longer than {limit} characters", field=field)
    if _FORBIDDEN_CONTROLS.search(text):
        raise InvalidInput("content contains control characters", field=field)
    return text


def clean_temp_id(temp_id: object, field: str = "temp_id") -> str:
    if not isinstance(temp_id, str) or not _TEMP_ID.match(temp_id):
        raise InvalidInput("temp_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'", field=field)
    return temp_id


def clean_emoji(emoji: object, field: str = "emoji") -> str:
    """One emoji as the Unicode emoji data knows it (the `emoji` package): a single emoji,
    a ZWJ sequence, a flag, a keycap or a skin-tone variant; nothing else (no text, no spaces,
    no invisible characters)."""
    if not isinstance(emoji, str) or not 1 <= len(emoji) <= 32:
        raise InvalidInput("emoji must be one emoji", field=field)
    text = unicodedata.normalize("NFC", emoji)
    if not emoji_data.is_emoji(text):
        raise InvalidInput("emoji must be one emoji", field=field)
    return text


def clean_room_name(name: object, field: str = "name") -> str:
    if name is None:
        return ""
    if not isinstance(name, str):
        raise InvalidInput("name must be a string", field=field)
    text = strip_bidi_controls(unicodedata.normalize("NFC", name)).strip()
    if len(text) > 200:
        raise InvalidInput("name is longer than 200 characters", field=field)
    if _FORBIDDEN_CONTROLS.search(text):
        raise InvalidInput("name contains control characters", field=field)
    return text


def strip_bidi_controls(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


def clean_username(username: object, field: str = "username") -> str:
    """A username as it is shown: NFC, bidi controls removed, never case-mapped (Georgian
    Mkhedruli stays Mkhedruli). Letters (any script), digits and @/./+/-/_; one script per
    name where scripts look alike (`nіno` with a Cyrillic і is refused)."""
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("username is required", field=field)
    text = strip_bidi_controls(unicodedata.normalize("NFC", username)).strip()
    if not text or len(text) > USERNAME_MAX or not all(ch.isalnum() or ch in "@.+-_" for ch in text):
        raise InvalidInput(f"username: up to {USERNAME_MAX} letters, digits and @/./+/-/_", field=field)
    if confusables.is_dangerous(text):
        raise InvalidInput("username mixes scripts with look-alike letters", field=field, code="confusable")
    return text


def username_key(username: str) -> str:
    """What makes two usernames the same name: NFKC, then case folding (Unicode's
    NFKC_Casefold). Used only to compare, never shown. str.casefold() leaves Georgian
    Mkhedruli as it is (it is the lower case) and folds Mtavruli onto it."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def clean_id(value: object, field: str) -> int:
    """A positive database id from JSON or a query string."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a positive integer", field=field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    else:
        raise InvalidInput(f"{field} must be a positive integer", field=field)
    if not 1 <= number <= 2**63 - 1:
        raise InvalidInput(f"{field} must be a positive integer", field=field)
    return number


def clean_seq(value: object, field: str) -> int:
    """A seq or change number from JSON: a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{field} must be a non-negative integer", field=field)
    return value


def has_lone_surrogate(value: object) -> bool:
    """JSON may spell a lone surrogate (\\ud800); such text cannot be stored or sent as UTF-8.
    Walks nested lists and objects with a stack, not recursion: any depth of nesting is fine."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
    return False


def nested_deeper_than(value: object, limit: int) -> bool:
    """True when lists and objects nest more than `limit` levels (a bare value is level 0).
    Iterative, like has_lone_surrogate: a body nested thousands deep costs a walk, not a crash."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (list, dict)):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, (list, dict)))
    return False


def refuse_lone_surrogates(data: dict) -> None:
    """InvalidInput naming the field whose value holds a lone surrogate (non_field_errors when a
    key does). Both edges apply it to what they parse: request bodies and socket frames."""
    for key, value in data.items():
        if has_lone_surrogate(key):
            raise InvalidInput("text must be valid Unicode (no lone surrogates)", field="non_field_errors")
        if has_lone_surrogate(value):
            raise InvalidInput("text must be valid Unicode (no lone surrogates)", field=key)
