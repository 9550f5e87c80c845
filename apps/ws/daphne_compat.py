"""Where this project reaches past Daphne's ASGI interface, in one place (re-check on upgrades).

1. The close codes of the contract.

Daphne closes a socket through autobahn's `sendClose`, which accepts only 1000 and 3000-4999 and
raises for anything else. 1012 ("service restart", IANA-registered, docs/protocol.md) therefore
never reached a client: the exception was swallowed on the way and the socket was dropped without
a close frame (clients saw 1006) on SIGTERM and on channel-layer failures. The registered server
codes go out through `sendCloseFrame`, the frame writer `sendClose` itself ends in.

2. A protocol failure gets a close frame. autobahn's default (`failByDrop`) drops the TCP
connection when a client breaks the protocol: a message over --websocket-max-message-size, a
text frame that is not UTF-8. Clients then see 1006, as if the server had died, and retry the
same frame. With it off they get the close code (1009 for too big, 1007, 1002).

3. The fan-out's write path (apps/ws/outlet.py): a publication is framed once (autobahn's
PreparedMessage) and written to each local socket's transport directly, and a socket's unsent
bytes are read from Twisted's buffer to bound what a socket that does not read may hold.
"""
import functools
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


def close_instead_of_drop() -> None:
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:
        return
    if getattr(WebSocketFactory, "_chat_fail_by_close", False):
        return
    original = WebSocketFactory.__init__

    def __init__(self, *args, **kwargs):  # noqa: N807
        original(self, *args, **kwargs)
        self.setProtocolOptions(failByDrop=False)

    WebSocketFactory.__init__ = __init__
    WebSocketFactory._chat_fail_by_close = True


class _Lazy:
    """A log argument formatted only if the message is actually logged."""

    __slots__ = ("format", "args", "kwargs")

    def __init__(self, format, *args, **kwargs):
        self.format = format
        self.args = args
        self.kwargs = kwargs

    def __str__(self) -> str:
        return str(self.format(*self.args, **self.kwargs))


def skip_eager_debug_formatting() -> None:
    """autobahn formats arguments for debug log lines whether or not debug logging is on: it
    pretty-prints every new socket's configuration (~5 % of the CPU of a connect, py-spy), and
    colours the handler's qualified name and the peer for every chunk of data a socket receives
    (four click.style calls per frame, cProfile). Make them lazy."""
    try:
        from autobahn.twisted import websocket as twisted_websocket
        from autobahn.websocket import protocol
    except ImportError:
        return
    if getattr(protocol, "_chat_lazy_debug", False):
        return
    protocol.pformat = functools.partial(_Lazy, pprint.pformat)
    twisted_websocket.hltype = functools.partial(_Lazy, twisted_websocket.hltype)
    twisted_websocket.hlval = functools.partial(_Lazy, twisted_websocket.hlval)
    protocol._chat_lazy_debug = True


def daphne_protocol(send):
    """The Daphne WebSocket protocol behind an ASGI `send` (Daphne hands each application
    `partial(server.handle_reply, protocol)`), or None under another server or a test client."""
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    return protocol if hasattr(protocol, "sendPreparedMessage") and hasattr(protocol, "transport") else None


def is_open(protocol) -> bool:
    return protocol.state == protocol.STATE_OPEN and protocol.transport is not None


def buffered_bytes(protocol) -> int:
    """Bytes written to the socket that the kernel has not taken yet (Twisted's write buffer):
    grows only when the peer does not read."""
    transport = protocol.transport
    return (len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
            + getattr(transport, "_tempDataLen", 0))


def write(protocol, data: bytes) -> None:
    """Write framed bytes to a socket. When nothing is queued (the usual case) they go out in one
    non-blocking send(), as asyncio's own transports do; Twisted's transport.write would register
    the socket with the event loop and unregister it after the write (two epoll_ctl calls per
    socket per message: a third of the fan-out's CPU, measured with py-spy). Whatever the kernel
    does not take goes through Twisted's buffer as usual, so order and backpressure are kept.
    autobahn's sendData is skipped too: it formats a debug line for every frame, logged or not."""
    transport = protocol.transport
    if (not protocol.send_queue and _idle_plain_tcp(transport)):
        try:
            sent = transport.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # Twisted notices the broken connection on its own write and closes it
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)


def _idle_plain_tcp(transport) -> bool:
    """A connected, unencrypted TCP transport with nothing buffered and not closing."""
    try:
        return (not transport.TLS and transport.connected and not transport.disconnecting
                and not transport._writeDisconnected and not transport._tempDataLen
                and len(transport.dataBuffer) == transport.offset)
    except AttributeError:  # another transport: Twisted's own write path
        return False


def prepare(frame: bytes):
    """A text frame framed once for any number of sockets (autobahn's PreparedMessage; Daphne
    negotiates no compression, so the framed bytes are written as they are)."""
    from autobahn.websocket.protocol import PreparedMessage

    return PreparedMessage(frame, False, False, True)


def daphne_server(protocol):
    """The Daphne Server behind a socket's protocol (its table of every connection)."""
    return getattr(protocol, "server", None)


def websockets_open(server) -> int:
    """WebSocket connections Daphne still holds, those still in their opening handshake included
    (they reach the application, and its close, only after the handshake)."""
    from daphne.ws_protocol import WebSocketProtocol

    if server is None:
        return 0
    return sum(1 for protocol, details in list(server.connections.items())
               if isinstance(protocol, WebSocketProtocol) and "disconnected" not in details)


def stop_listening() -> int:
    """Close the process's listening sockets (Daphne's endpoints): a connect that comes now is
    refused, and the client or the proxy tries another process. Returns how many were closed."""
    try:
        from twisted.internet import reactor, tcp
    except ImportError:  # not under Daphne
        return 0
    ports = [reader for reader in list(reactor.getReaders()) if isinstance(reader, tcp.Port)]
    for port in ports:
        port.stopListening()
    return len(ports)
