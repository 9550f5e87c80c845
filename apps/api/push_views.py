"""Web Push endpoints: the server's VAPID key, browser subscriptions, per-room mutes."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.views import ERRORS, body
from chat import actions_push, webpush
from chat.errors import NotFound


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(help_text="the browser's P-256 public key, base64url (65 bytes)")
    auth = serializers.CharField(help_text="the auth secret, base64url (16 bytes)")


class PushSubscriptionCreateSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=2048, help_text="https (http only where CHAT_PUSH_ALLOW_HTTP)")
    keys = PushKeysSerializer()
    user_agent = serializers.CharField(required=False, max_length=300)


class PushSubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.CharField()
    created_at = serializers.DateTimeField()


class PushEndpointSerializer(serializers.Serializer):
    endpoint = serializers.CharField(max_length=2048)


class VapidKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="applicationServerKey for PushManager.subscribe, base64url")


class RoomMuteSerializer(serializers.Serializer):
    room = serializers.IntegerField()
    muted = serializers.BooleanField()


class VapidKeyView(APIView):
    @extend_schema(responses={200: VapidKeySerializer, **ERRORS})
    def get(self, request):
        key = webpush.public_key()
        if key is None:
            raise NotFound("push notifications are not configured on this server", field="public_key")
        return Response({"public_key": key})


class PushSubscriptionsView(APIView):
    @extend_schema(request=PushSubscriptionCreateSerializer,
                   responses={201: PushSubscriptionSerializer, 200: PushSubscriptionSerializer, **ERRORS})
    def post(self, request):
        data = body(request)
        subscription, created = actions_push.subscribe(
            request.user, data.get("endpoint"), data.get("keys"), data.get("user_agent", ""))
        return Response(subscription, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=PushEndpointSerializer, responses={204: None, **ERRORS})
    def delete(self, request):
        actions_push.unsubscribe(request.user, body(request).get("endpoint"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomMuteView(APIView):
    @extend_schema(responses={200: RoomMuteSerializer, **ERRORS})
    def get(self, request, room_id: int):
        return Response(actions_push.room_muted(request.user, room_id))

    @extend_schema(request=None, responses={200: RoomMuteSerializer, **ERRORS})
    def put(self, request, room_id: int):
        return Response(actions_push.set_room_muted(request.user, room_id, True))

    @extend_schema(responses={200: RoomMuteSerializer, **ERRORS})
    def delete(self, request, room_id: int):
        return Response(actions_push.set_room_muted(request.user, room_id, False))
