"""Thin views: read the request, call one chat.actions / chat.queries function, answer."""
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from apps.api import serializers as s
from chat import actions, queries
from chat.errors import InvalidInput
from chat.text import clean_id, refuse_lone_surrogates

ERRORS = {400: s.ErrorSerializer, 401: s.ErrorSerializer, 403: s.ErrorSerializer, 404: s.ErrorSerializer}


@csrf_exempt  # a JSON 404 for every method, like the DRF views (they are CSRF-exempt too)
def not_found(request, *args, **kwargs):
    """No such API path: the error shape of every other answer (docs/api.md)."""
    return JsonResponse({"detail": "not found", "errors": {}}, status=404)


def body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("the body must be a JSON object", field="non_field_errors")
    refuse_lone_surrogates(request.data)
    return request.data


def auth_answer(user, token: str) -> dict:
    return {"token": token, "user": {"id": user.id, "username": user.username}}


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=s.CredentialsSerializer, responses={201: s.AuthSerializer, 400: s.ErrorSerializer,
                                                              409: s.ErrorSerializer})
    def post(self, request):
        data = body(request)
        user = actions.register_user(data.get("username"), data.get("password"))
        return Response(auth_answer(user, tokens.issue_token(user)), status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=s.CredentialsSerializer, responses={200: s.AuthSerializer, 400: s.ErrorSerializer})
    def post(self, request):
        data = body(request)
        user = actions.check_credentials(data.get("username"), data.get("password"))
        return Response(auth_answer(user, tokens.issue_token(user)))


class MeView(APIView):
    @extend_schema(responses={200: s.UserSerializer, **ERRORS})
    def get(self, request):
        return Response({"id": request.user.id, "username": request.user.username})


class UsersView(APIView):
    @extend_schema(parameters=[OpenApiParameter("search", str, required=False)],
                   responses={200: s.UserSerializer(many=True), **ERRORS})
    def get(self, request):
        search = request.query_params.get("search", "")[:150]
        return Response(queries.search_users(search))


class RoomsView(APIView):
    @extend_schema(responses={200: s.RoomSerializer(many=True), **ERRORS})
    def get(self, request):
        return Response(queries.rooms_of_user(request.user.id))

    @extend_schema(request=s.RoomCreateSerializer, responses={201: s.RoomSerializer, 200: s.RoomSerializer, **ERRORS})
    def post(self, request):
        data = body(request)
        room, created = actions.create_room(
            request.user, name=data.get("name", ""), kind=data.get("kind", "group"), members=data.get("members", []))
        return Response(room, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RoomView(APIView):
    @extend_schema(responses={200: s.RoomSerializer, **ERRORS})
    def get(self, request, room_id: int):
        return Response(queries.room_detail(request.user.id, room_id))


class RoomMembersView(APIView):
    @extend_schema(request=s.MemberAddSerializer, responses={201: s.MemberSerializer, **ERRORS})
    def post(self, request, room_id: int):
        member = actions.add_member(request.user, room_id=room_id, user_id=body(request).get("user_id"))
        return Response(member, status=status.HTTP_201_CREATED)


class RoomMemberView(APIView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request, room_id: int, user_id: int):
        actions.remove_member(request.user, room_id=room_id, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomReadView(APIView):
    @extend_schema(request=s.ReadMarkSerializer, responses={204: None, **ERRORS})
    def post(self, request, room_id: int):
        actions.mark(request.user, room_id=room_id, message_id=body(request).get("message_id"), kind="read")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _page_params(params) -> dict:
    if "room" not in params:
        raise InvalidInput("room is required", field="room")
    limit = settings.CHAT_PAGE_DEFAULT
    if "limit" in params:
        limit = clean_id(params["limit"], "limit")
        if limit > settings.CHAT_PAGE_MAX:
            raise InvalidInput(f"limit is at most {settings.CHAT_PAGE_MAX}", field="limit")
    cursors = [name for name in ("before", "after", "around") if name in params]
    if len(cursors) > 1:
        raise InvalidInput("give at most one of before, after, around", field=cursors[1])
    cursor = {name: clean_id(params[name], name) for name in cursors}
    return {"room_id": clean_id(params["room"], "room"), "limit": limit, **cursor}


class MessagesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("room", int, required=True),
            OpenApiParameter("limit", int, required=False, description="default 50, max 100"),
            OpenApiParameter("before", int, required=False, description="a message id"),
            OpenApiParameter("after", int, required=False, description="a message id"),
            OpenApiParameter("around", int, required=False, description="a message id"),
        ],
        responses={200: s.PageSerializer, **ERRORS},
    )
    def get(self, request):
        params = _page_params(request.query_params)
        room_id = params.pop("room_id")
        return Response(queries.history_page(request.user.id, room_id, **params))

    @extend_schema(request=s.MessageCreateSerializer, responses={201: s.MessageSerializer, 200: s.MessageSerializer,
                                                                **ERRORS})
    def post(self, request):
        data = body(request)
        if "room" not in data:
            raise InvalidInput("room is required", field="room")
        result = actions.send_message(request.user, room_id=clean_id(data["room"], "room"),
                                      content=data.get("content"), temp_id=data.get("temp_id"))
        return Response(result.message, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class MessageView(APIView):
    @extend_schema(request=s.MessageEditSerializer, responses={200: s.MessageSerializer, 409: s.ErrorSerializer,
                                                              **ERRORS})
    def patch(self, request, message_id: int):
        return Response(actions.edit_message(request.user, message_id=message_id, content=body(request).get("content")))

    @extend_schema(responses={204: None, 409: s.ErrorSerializer, **ERRORS})
    def delete(self, request, message_id: int):
        actions.delete_message(request.user, message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionView(APIView):
    @extend_schema(request=None, responses={200: s.MessageSerializer, 409: s.ErrorSerializer, **ERRORS})
    def put(self, request, message_id: int, emoji: str):
        return Response(actions.set_reaction(request.user, message_id=message_id, emoji=emoji, present=True))

    @extend_schema(responses={200: s.MessageSerializer, 409: s.ErrorSerializer, **ERRORS})
    def delete(self, request, message_id: int, emoji: str):
        return Response(actions.set_reaction(request.user, message_id=message_id, emoji=emoji, present=False))
