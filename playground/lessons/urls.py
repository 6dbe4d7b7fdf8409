from django.urls import path

from playground.lessons import views

urlpatterns = [
    path("lessons/", views.lessons_index, name="lessons"),
    # The first lesson's own name, which links across the site use; the same view and URL as below.
    path("lessons/stateless-services/", views.lesson, {"slug": "stateless-services"}, name="lesson"),
    path("lessons/<slug:slug>/", views.lesson, name="lesson-page"),
    path("lessons/<slug:slug>/quiz/<slug:question_id>/", views.quiz_question, name="lesson-quiz"),
    path("accuracy/", views.accuracy, name="accuracy"),
]
