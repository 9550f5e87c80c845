"""The one request parser: JSON, bounded in size (DATA_UPLOAD_MAX_MEMORY_SIZE) and nesting
(CHAT_JSON_MAX_DEPTH)."""
import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from chat.text import nested_deeper_than


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        super().__init__(f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with bounds. DRF reads the body as a stream, past Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE check (which guards only request.body), so the size is bounded
    here: 413. The standard decoder recurses per level: a body nested a few thousand deep
    raised RecursionError (a 500), and one just under the interpreter's limit would reach every
    later walk: 400 past CHAT_JSON_MAX_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(self._too_deep()) from exc
        if nested_deeper_than(data, settings.CHAT_JSON_MAX_DEPTH):
            raise ParseError(self._too_deep())
        return data

    @staticmethod
    def _too_deep() -> str:
        return f"JSON parse error - nested more than {settings.CHAT_JSON_MAX_DEPTH} levels"
