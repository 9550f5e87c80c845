from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api import push_views, views
from apps.api.converters import IdConverter

register_converter(IdConverter, "id")

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
    path("users/", views.UsersView.as_view(), name="users"),
    path("chat/rooms/", views.RoomsView.as_view(), name="rooms"),
    path("chat/rooms/<id:room_id>/", views.RoomView.as_view(), name="room"),
    path("chat/rooms/<id:room_id>/members/", views.RoomMembersView.as_view(), name="room-members"),
    path("chat/rooms/<id:room_id>/members/<id:user_id>/", views.RoomMemberView.as_view(), name="room-member"),
    path("chat/rooms/<id:room_id>/read/", views.RoomReadView.as_view(), name="room-read"),
    path("chat/messages/", views.MessagesView.as_view(), name="messages"),
    path("chat/messages/<id:message_id>/", views.MessageView.as_view(), name="message"),
    path("chat/messages/<id:message_id>/reactions/<str:emoji>/", views.ReactionView.as_view(), name="reaction"),
    path("chat/rooms/<id:room_id>/mute/", push_views.RoomMuteView.as_view(), name="room-mute"),
    path("push/vapid-key/", push_views.VapidKeyView.as_view(), name="push-vapid-key"),
    path("push/subscriptions/", push_views.PushSubscriptionsView.as_view(), name="push-subscriptions"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view: its script is a separate file (no inline script under the CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Anything else under /api/ (including ids the converters refuse) is a JSON 404, not HTML;
    # a path without its final "/" is redirected (reads) or a JSON 404 (writes).
    re_path(r"^[\s\S]*/$", views.not_found, name="api-not-found"),
    re_path(r"^[\s\S]*$", views.without_trailing_slash, name="api-no-trailing-slash"),
]
