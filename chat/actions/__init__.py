"""All writes. Each action is one transaction; its real-time events are published after commit.

One module per concern; `from chat import actions; actions.send_message(...)` is the way in.
"""
from chat.actions.accounts import check_credentials, register_user
from chat.actions.imports import import_messages
from chat.actions.messages import (SendResult, delete_message, edit_message, prepare_sending, send_message,
                                   send_message_async, set_reaction)
from chat.actions.presence import presence_heartbeat, process_stopping, set_typing, socket_closed, socket_opened
from chat.actions.receipts import mark
from chat.actions.rooms import add_member, create_room, remove_member

__all__ = [
    "SendResult", "add_member", "check_credentials", "create_room", "delete_message", "edit_message",
    "import_messages", "mark", "prepare_sending", "presence_heartbeat", "process_stopping", "register_user", "remove_member",
    "send_message", "send_message_async", "set_reaction", "set_typing", "socket_closed", "socket_opened",
]
