from django.contrib.auth import views as auth_views
from django.urls import path

from playground.accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/revoke", views.revoke_token, name="revoke-token"),
]
