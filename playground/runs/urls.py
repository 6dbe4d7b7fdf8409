from django.urls import path

from playground.runs import sweep_views, views

urlpatterns = [
    path("runs/", views.my_runs, name="my-runs"),
    path("runs/start/", views.start, name="run-start"),
    path("r/<str:slug>/", views.run_page, name="run"),
    path("r/<str:slug>/cancel/", views.cancel, name="run-cancel"),
    path("r/<str:slug>/checks/", views.run_checks, name="run-checks"),
    path("r/<str:slug>/story/", views.run_story, name="run-story"),
    path("r/<str:slug>/summary/", views.run_summary, name="run-summary"),
    path("r/<str:slug>/control/", views.control, name="run-control"),
    path("r/<str:slug>/fork/", views.fork, name="run-fork"),
    path("compare/", views.compare_page, name="compare"),
    path("sweeps/new/", sweep_views.new_sweep, name="sweep-new"),
    path("s/<str:slug>/", sweep_views.sweep_page, name="sweep"),
    path("s/<str:slug>/progress/", sweep_views.sweep_progress, name="sweep-progress"),
    path("s/<str:slug>/cancel/", sweep_views.sweep_cancel, name="sweep-cancel"),
    path("s/<str:slug>/fork/", sweep_views.sweep_fork, name="sweep-fork"),
]
