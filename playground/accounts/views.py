"""Sign-up, the account page and its API tokens. Log in and log out are Django's own views (log-in
with its attempts limited, as sign-up's are: ``throttle``);
logging in (and signing up, which logs in) claims this browser's designs (``designs.ownership``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from playground.accounts import throttle
from playground.accounts.models import ApiToken

MAX_TOKENS = 20


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="What the token is for, e.g. “CI”.")


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class LoginView(auth_views.LoginView):
    """Django's log-in, with each attempt counted per address and per account (``throttle``)."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        refusal = throttle.take_attempt(request, throttle.LOGIN_LIMITS)
        if refusal is None:
            return super().post(request, *args, **kwargs)
        # The form again, unbound (checking it would try the password), with the name typed.
        form = self.form_class(request, initial={"username": request.POST.get("username", "")[:150]})
        return throttle.refused(request, refusal, lambda: self.render_to_response(
            self.get_context_data(form=form, refusal=refusal.message)))


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("my-designs")
    if request.method == "POST":
        refusal = throttle.take_attempt(request, throttle.SIGNUP_LIMITS)
        if refusal is not None:
            form = UserCreationForm(initial={"username": request.POST.get("username", "")[:150]})
            return throttle.refused(request, refusal, lambda: render(request, "accounts/signup.html", {
                "form": form, "next": _next_url(request, ""), "refusal": refusal.message}))
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_next_url(request, "my-designs"))
    return render(request, "accounts/signup.html", {"form": form, "next": _next_url(request, "")})


@never_cache  # Cache-Control: no-store (and private): the page shows a new token once
@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_token = None
    tokens = list(request.user.api_tokens.all())
    if request.method == "POST" and form.is_valid():
        if len(tokens) >= MAX_TOKENS:
            form.add_error(None, f"At most {MAX_TOKENS} tokens: revoke one first.")
        else:
            _, new_token = ApiToken.issue(request.user, form.cleaned_data["name"])
            tokens = list(request.user.api_tokens.all())
            form = TokenForm()
    return render(request, "accounts/account.html", {"form": form, "tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def revoke_token(request: HttpRequest) -> HttpResponse:
    token_id = request.POST.get("token", "")
    if token_id.isdigit():
        get_object_or_404(ApiToken, pk=int(token_id), user=request.user).delete()
    return redirect("account")
