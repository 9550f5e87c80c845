"""Writing deliveries to one socket, and the bound on what a socket that does not read may hold.

Under Daphne the frame goes straight to the socket's WebSocket protocol, framed once per
publication for every socket of the process (no per-socket JSON, no ASGI hop, no re-encoding).
Backpressure is read from Twisted's write buffer: past CHAT_WS_SEND_BUFFER_SOFT the droppable
frames (typing, presence) are skipped for that socket, past CHAT_WS_SEND_BUFFER_HARD it is
closed with 1013 so the client reconnects and syncs. So a socket never holds more than about
the hard bound plus one frame of this process's memory, and never delays the others: writes
only append to its buffer.
"""
import asyncio

from django.conf import settings

from apps.ws import daphne_compat

SENT, DROPPED, OVERFLOW = "sent", "dropped", "overflow"


class DaphneOutlet:
    def __init__(self, protocol):
        self.protocol = protocol
        # The bounds, read once per socket: this runs for every delivery to every socket.
        self.soft = settings.CHAT_WS_SEND_BUFFER_SOFT
        self.hard = settings.CHAT_WS_SEND_BUFFER_HARD

    def write(self, delivery) -> str:
        protocol = self.protocol
        if not daphne_compat.is_open(protocol):
            return DROPPED
        waiting = daphne_compat.buffered_bytes(protocol)
        if waiting > self.hard:
            return OVERFLOW
        if delivery.droppable and waiting > self.soft:
            return DROPPED
        if delivery._prepared is None:
            delivery._prepared = daphne_compat.prepare(delivery.frame)
        daphne_compat.write(protocol, delivery._prepared.payloadHybi)
        return SENT

    async def send_own(self, frame: bytes) -> None:
        """A frame for this socket alone (an answer to its own frame): written the same way,
        in order with the deliveries, never dropped."""
        self.write_own(frame)

    def write_own(self, frame: bytes) -> None:
        """send_own without an await: in order with whatever the caller writes next."""
        if daphne_compat.is_open(self.protocol):
            daphne_compat.write(self.protocol, daphne_compat.prepare(frame).payloadHybi)


class AsgiOutlet:
    """Any other ASGI server (and channels' test communicator): the consumer's own send, in order."""

    def __init__(self, consumer):
        self.consumer = consumer

    def write(self, delivery) -> str:
        asyncio.get_running_loop().create_task(self.consumer.send(text_data=delivery.text))
        return SENT

    async def send_own(self, frame: bytes) -> None:
        await self.consumer.send(text_data=frame.decode())

    def write_own(self, frame: bytes) -> None:
        # a task, as for deliveries: tasks run in the order they are made
        asyncio.get_running_loop().create_task(self.consumer.send(text_data=frame.decode()))


def outlet_for(consumer):
    protocol = daphne_compat.daphne_protocol(consumer.base_send)
    return DaphneOutlet(protocol) if protocol is not None else AsgiOutlet(consumer)
