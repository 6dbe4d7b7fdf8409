from django.urls import path

from playground.runs import views

urlpatterns = [
    path("runs/", views.my_runs, name="my-runs"),
    path("runs/start/", views.start, name="run-start"),
    path("r/<str:slug>/", views.run_page, name="run"),
    path("r/<str:slug>/cancel/", views.cancel, name="run-cancel"),
    path("r/<str:slug>/control/", views.control, name="run-control"),
    path("r/<str:slug>/fork/", views.fork, name="run-fork"),
    path("compare/", views.compare_page, name="compare"),
]
