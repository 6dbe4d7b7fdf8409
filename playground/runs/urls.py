from django.urls import path

from playground.runs import export_views, sweep_views, views

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
    path("r/<str:slug>/frames.csv", export_views.frames_csv, name="run-frames-csv"),
    path("r/<str:slug>/frames.json", export_views.frames_json, name="run-frames-json"),
    path("r/<str:slug>/embed/", views.run_embed, name="run-embed"),
    path("oembed", export_views.oembed, name="oembed"),
    path("compare/", views.compare_page, name="compare"),
    path("sweeps/new/", sweep_views.new_sweep, name="sweep-new"),
    path("s/<str:slug>/", sweep_views.sweep_page, name="sweep"),
    path("s/<str:slug>/progress/", sweep_views.sweep_progress, name="sweep-progress"),
    path("s/<str:slug>/cancel/", sweep_views.sweep_cancel, name="sweep-cancel"),
    path("s/<str:slug>/fork/", sweep_views.sweep_fork, name="sweep-fork"),
    path("s/<str:slug>/points/<int:point>/run/", sweep_views.sweep_point_run, name="sweep-point-run"),
    path("s/<str:slug>/points.csv", export_views.sweep_points_csv, name="sweep-points-csv"),
]

# Pictures (picture_views.py): topology, charts, the GIF, link previews, Compare's image.
from django.urls import re_path  # noqa: E402

from playground.runs import picture_views  # noqa: E402

urlpatterns += [
    re_path(r"^r/(?P<slug>[^/]+)/topology\.(?P<fmt>svg|png)$", picture_views.topology, name="run-topology"),
    path("r/<str:slug>/chart/<str:name>.png", picture_views.chart, name="run-chart"),
    path("r/<str:slug>/run.gif", picture_views.run_gif, name="run-gif"),
    path("r/<str:slug>/preview.png", picture_views.run_preview, name="run-preview"),
    path("s/<str:slug>/preview.png", picture_views.sweep_preview, name="sweep-preview"),
    path("templates/<slug:slug>/preview.png", picture_views.template_preview, name="template-preview"),
    path("d/<str:slug>/preview.png", picture_views.design_preview, name="design-preview"),
    path("compare/image.png", picture_views.compare_image, name="compare-image"),
]
