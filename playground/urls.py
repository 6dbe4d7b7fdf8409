from django.contrib import admin
from django.urls import include, path

from playground import reference, views
from playground.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("reference/schema/", reference.schema_reference, name="reference-schema"),
    path("", include("playground.runs.urls")),
    path("", include("playground.designs.urls")),
    path("", include("playground.designs.gallery_urls")),
    path("", include("playground.lessons.urls")),
    path("", include("playground.accounts.urls")),
]
