"""Rooms, memberships (with receipt watermarks), messages (with a per-room seq) and reactions.

Invariants (docs/architecture.md):
- `Message.seq` is the room's next number, taken in the insert transaction from `Room.last_seq`:
  gap-free and unique per room.
- `UNIQUE(room, sender, temp_id)`: a retried send returns the original message, forever.
- Receipts are watermarks on the membership and only move forward.
- Every write to a room (new message, edit, delete, reaction) takes the room's next `change_seq`
  and stamps it on the message: the change feed that delta sync reads.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone


class Room(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct"
        GROUP = "group"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GROUP)
    name = models.CharField(max_length=200, blank=True)
    last_seq = models.BigIntegerField(default=0)
    last_change_seq = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"room {self.pk} {self.name!r}"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    last_delivered_seq = models.BigIntegerField(default=0)
    last_read_seq = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_room_user_uniq"),
        ]
        indexes = [models.Index(fields=["user", "room"], name="membership_user_room_idx")]


class Message(models.Model):
    class Type(models.TextChoices):
        TEXT = "text"
        SYSTEM = "system"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    temp_id = models.CharField(max_length=64)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    content = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    version = models.IntegerField(default=1)
    # The room change that created this message, and the latest one that touched it.
    created_change_seq = models.BigIntegerField()
    change_seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_uniq"),
            models.UniqueConstraint(fields=["room", "sender", "temp_id"], name="message_room_sender_temp_uniq"),
        ]
        indexes = [models.Index(fields=["room", "change_seq"], name="message_room_change_idx")]


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_message_user_emoji_uniq"),
        ]


# --- Web Push (docs/flows/notifications.md) ---------------------------------------------------

class PushSubscription(models.Model):
    """A browser's Web Push subscription: one per device and browser profile. The endpoint is
    the identity (a browser re-subscribing sends the same one; a new user on that browser takes
    it over)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=2048, unique=True)
    p256dh = models.CharField(max_length=100)  # the browser's P-256 public key, base64url (65 bytes)
    auth = models.CharField(max_length=32)  # the shared auth secret, base64url (16 bytes)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user"], name="pushsub_user_idx")]


class RoomMute(models.Model):
    """A member who does not want push notifications from a room (the socket still delivers)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "room"], name="roommute_user_room_uniq")]


class PushNotification(models.Model):
    """The notification ledger: one row per (subscription, message) ever notified, claimed and
    committed before the push request is made, so retries, duplicate task deliveries and a
    killed worker never notify a device twice for a message (the rules: chat/notifications.py)."""

    class State(models.TextChoices):
        PENDING = "pending"      # decided, not yet tried
        SENDING = "sending"      # a worker holds it until lease_until (the request is under way)
        RETRYING = "retrying"    # the push service did not take it; try again at next_attempt_at
        SENT = "sent"            # the push service accepted it (201)
        DROPPED = "dropped"      # given up (413, read meanwhile, too many attempts, refused)

    subscription = models.ForeignKey(PushSubscription, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    unread = models.IntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.IntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "message"], name="pushnotif_sub_message_uniq"),
        ]
        indexes = [models.Index(fields=["subscription", "room", "seq"], name="pushnotif_sub_room_seq_idx")]


class UsernameKey(models.Model):
    """A username's comparison key (chat.text.username_key: NFKC + case folding), unique: `Nino`,
    `NINO` and `ｎｉｎｏ` are one name. The username itself is shown as it was typed."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
                                related_name="username_key")
    key = models.CharField(max_length=600, unique=True)
