from django.urls import path

from playground.designs import gallery

urlpatterns = [
    path("templates/", gallery.gallery, name="gallery"),
    path("templates/<slug:slug>/", gallery.template_page, name="template"),
]
