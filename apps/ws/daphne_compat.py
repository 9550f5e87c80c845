"""Let Daphne send the close codes of the contract.

Daphne closes a socket through autobahn's `sendClose`, which accepts only 1000 and 3000-4999 and
raises for anything else. 1012 ("service restart", IANA-registered, docs/protocol.md) therefore
never reached a client: the exception was swallowed on the way and the socket was dropped without
a close frame (clients saw 1006) on SIGTERM and on channel-layer failures. The registered server
codes go out through `sendCloseFrame`, the frame writer `sendClose` itself ends in.
"""
import pprint

SERVER_CODES = frozenset({1001, 1011, 1012, 1013, 1014})


def allow_registered_server_close_codes() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not running under Daphne
        return
    if getattr(WebSocketProtocol, "_chat_close_codes", False):
        return
    original = WebSocketProtocol.serverClose

    def serverClose(self, code=None):  # noqa: N802 - Daphne's name
        if code in SERVER_CODES:
            self.sendCloseFrame(code=code, isReply=False)
            return None
        return original(self, code)

    WebSocketProtocol.serverClose = serverClose
    WebSocketProtocol._chat_close_codes = True


class _LazyPformat:
    """pprint only if the message is actually logged."""

    def __init__(self, obj):
        self.obj = obj

    def __str__(self) -> str:
        return pprint.pformat(self.obj)


def skip_eager_debug_formatting() -> None:
    """autobahn pretty-prints every new socket's configuration for a debug log line, whether or
    not debug logging is on: ~5 % of the CPU of a connect, measured with py-spy. Make it lazy."""
    try:
        from autobahn.websocket import protocol
    except ImportError:
        return
    protocol.pformat = _LazyPformat
