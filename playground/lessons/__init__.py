"""Lessons: concept pages, quizzes and the accuracy page."""
