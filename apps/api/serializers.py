"""Request and response shapes for the OpenAPI schema (docs/api.md). Validation of meaning
(lengths, NFC, membership) is the domain's; these describe the wire."""
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    code = serializers.CharField(required=False)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256)


class AuthSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = UserSerializer()


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.ListField(child=serializers.IntegerField())


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField()
    seq = serializers.IntegerField()
    user = UserSerializer()
    content = serializers.CharField(allow_blank=True)
    type = serializers.CharField()
    temp_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    reactions = ReactionSerializer(many=True)
    version = serializers.IntegerField()
    change_seq = serializers.IntegerField()


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    online = serializers.BooleanField()
    last_delivered_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()


class RoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=["direct", "group"])
    members = MemberSerializer(many=True)
    last_message = MessageSerializer(allow_null=True)
    last_seq = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    last_delivered_seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    muted = serializers.BooleanField(help_text="this member muted the room's push notifications")


class RoomCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=["direct", "group"], required=False)
    members = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)


class MemberAddSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)


class ReadMarkSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=1)


class PageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    has_more = serializers.BooleanField()
    cursor = serializers.IntegerField(allow_null=True)
    has_more_before = serializers.BooleanField(required=False)
    has_more_after = serializers.BooleanField(required=False)


class MessageCreateSerializer(serializers.Serializer):
    room = serializers.IntegerField(min_value=1)
    content = serializers.CharField(max_length=10000, trim_whitespace=False)
    temp_id = serializers.CharField(max_length=64, help_text="required: the client's id for this send, reused on retries")


class MessageEditSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=10000, trim_whitespace=False)
