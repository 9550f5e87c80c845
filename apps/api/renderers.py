import orjson
from rest_framework.renderers import BaseRenderer


def _fallback(value):
    return str(value)  # lazy translation strings, Decimals, UUIDs


class UnicodeJSONRenderer(BaseRenderer):
    """JSON in UTF-8 as is (never \\u escapes), encoded by orjson for speed."""

    media_type = "application/json"
    format = "json"
    charset = None  # orjson output is UTF-8 bytes; the charset parameter is implied by the type

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
