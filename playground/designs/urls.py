from django.urls import path

from playground.designs import panels, views

urlpatterns = [
    path("d/new/", views.editor_new, name="editor-new"),
    path("d/create", views.design_create, name="design-create"),
    path("d/<str:slug>/", views.design_editor, name="design-editor"),
    path("d/<str:slug>/document", views.design_document, name="design-document"),
    path("d/<str:slug>/save", views.design_save, name="design-save"),
    path("d/<str:slug>/fork", views.design_fork, name="design-fork"),
    path("d/<str:slug>/delete", views.design_delete, name="design-delete"),
    path("designs/", views.my_designs, name="my-designs"),
    path("templates/<slug:slug>/edit/", views.template_edit, name="template-edit"),
    path("templates/<slug:slug>/fork", views.template_fork, name="template-fork"),
    path("reference/", views.reference, name="reference"),
    path("editor/panel/node", panels.panel_node, name="panel-node"),
    path("editor/panel/edge", panels.panel_edge, name="panel-edge"),
    path("editor/panel/scenario", panels.panel_scenario, name="panel-scenario"),
    path("editor/validate", panels.editor_validate, name="editor-validate"),
    path("editor/export", panels.editor_export, name="editor-export"),
    path("editor/import", panels.editor_import, name="editor-import"),
]
