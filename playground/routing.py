"""WebSocket routes. Each app adds its consumers here."""

from django.urls import path

from playground.runs import consumers

websocket_urlpatterns = [
    path("ws/ping/", consumers.PingConsumer.as_asgi()),
    path("ws/runs/<str:slug>/", consumers.RunConsumer.as_asgi()),
]
