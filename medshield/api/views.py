"""The token page: a logged-in user makes and revokes their own API tokens.

The new token is shown once, in the answer to the POST that made it (never stored, never in a
URL, not cached); after that only its prefix is known.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from medshield.api.models import DEFAULT_DAYS, MAX_DAYS, ApiToken, TokenScope
from medshield.api.tokens import create_token, revoke_token

#: how many tokens one login may hold that are still usable (a leak is easier to contain)
MAX_ACTIVE_TOKENS = 20


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the script's name"),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Scope"), choices=TokenScope.choices, initial=TokenScope.READ
    )
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's tokens, and the form that makes a new one."""
    form = TokenForm(request.POST or None)
    created: str | None = None
    status = 200
    if request.method == "POST":
        active = ApiToken.objects.usable().filter(user=request.user).count()
        if active >= MAX_ACTIVE_TOKENS:
            form.add_error(
                None,
                _("You have {n} active tokens already; revoke one first.").format(n=active),
            )
        if form.is_valid():
            _token, created = create_token(
                request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                days=form.cleaned_data["days"],
                request=request,
            )
            form = TokenForm()
        else:
            status = 400
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"nav": "tokens", "form": form, "tokens": tokens, "created": created}
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (another user's is not found)."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if revoke_token(token, request=request):
        messages.success(request, _("Token {name} revoked.").format(name=token.name))
    return redirect("api:token-list")
