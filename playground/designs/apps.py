from django.apps import AppConfig


class DesignsConfig(AppConfig):
    name = "playground.designs"
    label = "designs"
