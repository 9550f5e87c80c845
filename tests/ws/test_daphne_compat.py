"""autobahn's debug-line arguments are formatted only when the line is logged
(apps/ws/daphne_compat.py skip_eager_debug_formatting, installed by the ws app's ready())."""
from unittest import mock

from autobahn import util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol


def test_per_frame_debug_arguments_are_not_formatted_unless_logged():
    with mock.patch("click.style", side_effect=AssertionError("formatted eagerly")):
        # What autobahn's dataReceived builds for its debug line on every chunk a socket receives.
        arguments = [twisted_websocket.hltype(test_per_frame_debug_arguments_are_not_formatted_unless_logged),
                     twisted_websocket.hlval("127.0.0.1:5000"), twisted_websocket.hlval(42)]
        configuration = protocol.pformat({"maxMessagePayloadSize": 1048576})
    # Logged, they read as autobahn's own formatting would.
    assert str(arguments[0]) == util.hltype(test_per_frame_debug_arguments_are_not_formatted_unless_logged)
    assert [str(a) for a in arguments[1:]] == [util.hlval("127.0.0.1:5000"), util.hlval(42)]
    assert str(configuration) == "{'maxMessagePayloadSize': 1048576}"
