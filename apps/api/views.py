"""Thin views: read the request, call one chat.actions / chat.queries function, answer."""
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from apps.api import serializers as s
from apps.api import throttles
from apps.api.errors import database_unavailable
from chat import actions, queries
from chat.errors import InvalidInput
from chat.text import clean_id, clean_temp_id, refuse_lone_surrogates

ERRORS = {400: s.ErrorSerializer, 401: s.ErrorSerializer, 403: s.ErrorSerializer, 404: s.ErrorSerializer}
THROTTLED = {429: s.ErrorSerializer}  # with Retry-After


@csrf_exempt  # a JSON 404 for every method, like the DRF views (they are CSRF-exempt too)
def not_found(request, *args, **kwargs):
    """No such API path: the error shape of every other answer (docs/api.md)."""
    return JsonResponse({"detail": "not found", "errors": {}}, status=404)


@csrf_exempt
def without_trailing_slash(request, *args, **kwargs):
    """An API path without its final "/": reads are redirected to it; writes are a JSON 404
    naming it (a redirect would turn a POST into a GET and lose the body)."""
    path = escape_uri_path(request.path + "/")
    if request.method in ("GET", "HEAD"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(path + ("?" + query if query else ""))
    return JsonResponse({"detail": f"not found: API paths end with '/' ({path})", "errors": {}}, status=404)


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
    throttle_classes = [throttles.RegisterAddressThrottle]

    @extend_schema(request=s.CredentialsSerializer, responses={201: s.AuthSerializer, 400: s.ErrorSerializer,
                                                              409: s.ErrorSerializer, **THROTTLED})
    def post(self, request):
        data = body(request)
        user = actions.register_user(data.get("username"), data.get("password"))
        return Response(auth_answer(user, tokens.issue_token(user)), status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [throttles.LoginAddressThrottle, throttles.LoginUsernameThrottle]

    @extend_schema(request=s.CredentialsSerializer, responses={200: s.AuthSerializer, 400: s.ErrorSerializer,
                                                              **THROTTLED})
    def post(self, request):
        data = body(request)
        user = actions.check_credentials(data.get("username"), data.get("password"))
        return Response(auth_answer(user, tokens.issue_token(user)))


class LogoutView(APIView):
    """Log out this device: the request's token is revoked and its open sockets close (4001)."""

    @extend_schema(request=None, responses={204: None, **ERRORS})
    def post(self, request):
        if isinstance(request.auth, tokens.Session):
            tokens.revoke(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Log out everywhere: every token of the user is revoked, every socket of theirs closes."""

    @extend_schema(request=None, responses={204: None, **ERRORS})
    def post(self, request):
        tokens.revoke_all(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: s.UserSerializer, **ERRORS})
    def get(self, request):
        return Response({"id": request.user.id, "username": request.user.username})


class UsersView(APIView):
    throttle_classes = [throttles.UserSearchThrottle]

    @extend_schema(parameters=[OpenApiParameter("search", str, required=False)],
                   responses={200: s.UserSerializer(many=True), **ERRORS, **THROTTLED})
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
    throttle_classes = [throttles.SendThrottle]  # POST only; reading history is not throttled

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
                                                                **ERRORS, **THROTTLED, 503: s.ErrorSerializer})
    def post(self, request):
        data = body(request)
        if "room" not in data:
            raise InvalidInput("room is required", field="room")
        room_id = clean_id(data["room"], "room")
        if "temp_id" not in data:  # without it a retry of an unknown outcome would store it twice
            raise InvalidInput("temp_id is required: the client's id for this send, reused on retries",
                               field="temp_id")
        temp_id = clean_temp_id(data["temp_id"])
        try:
            result = actions.send_message(request.user, room_id=room_id, content=data.get("content"), temp_id=temp_id)
        except DatabaseError as exc:
            return _send_outcome_unknown(request.user, room_id, temp_id, exc)
        return Response(result.message, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def _send_outcome_unknown(user, room_id: int, temp_id: str, exc: DatabaseError) -> Response:
    """The database failed mid-send: whether the commit landed is unknown. Look it up by
    temp_id, as the socket does: stored means stored (200), else 503 and the client retries."""
    try:
        stored = queries.message_by_temp_id(room_id, user.id, temp_id)
    except DatabaseError:
        stored = None
    if stored is not None:
        return Response(stored, status=status.HTTP_200_OK)
    return database_unavailable(exc)


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
