"""Domain errors. Edges turn them into a 4xx answer or an `error` frame; none of them is a 500."""


class ChatError(Exception):
    """A request the domain refuses. `code` is stable (clients switch on it); `field` names the input."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class InvalidInput(ChatError):
    code = "invalid"
    status = 400


class NotFound(ChatError):
    """No such thing, or not visible to this user (non-members cannot tell a room exists)."""

    code = "not_found"
    status = 404


class Forbidden(ChatError):
    code = "forbidden"
    status = 403


class Conflict(ChatError):
    code = "conflict"
    status = 409
