from django.urls import path

from playground.lessons import views

urlpatterns = [
    path("lessons/", views.lessons_index, name="lessons"),
    path("lessons/stateless-services/", views.lesson, name="lesson"),
    path("lessons/stateless-services/quiz/<slug:question_id>/", views.quiz_question, name="lesson-quiz"),
    path("accuracy/", views.accuracy, name="accuracy"),
]
