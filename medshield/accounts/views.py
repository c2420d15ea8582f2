"""Login (password, then the TOTP code of an enrolled user), lockout, and two-factor setup."""

from __future__ import annotations

from typing import Any

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from medshield.accounts import twofactor
from medshield.accounts.forms import TokenForm
from medshield.audit.log import record
from medshield.audit.models import AuditAction


class LoginView(auth_views.LoginView):
    """Django's login page with medshield's template; axes counts its failures."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The login page saying the account is locked (django-axes' AXES_LOCKOUT_CALLABLE)."""
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    minutes = int(cooloff.total_seconds() // 60) if cooloff is not None else None
    context = {
        "form": AuthenticationForm(request),
        "locked_out": True,
        "cooloff_minutes": minutes,
    }
    return render(request, "registration/login.html", context, status=429)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The second login step: the code from the user's authenticator app."""
    if not request.user.is_authenticated:
        return redirect("login")
    if twofactor.outstanding(request) != twofactor.VERIFY:
        return redirect(_next_url(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            django_otp.login(request, device)
            twofactor.done(request)
            record(AuditAction.LOGIN, request=request, detail={"step": "totp"})
            return redirect(_next_url(request))
        record(AuditAction.LOGIN_FAILED, request=request, detail={"step": "totp"})
        form.add_error("token", _("The code is wrong or has expired. Enter the current code."))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/otp_verify.html", context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Two-factor status; enrol a TOTP authenticator (QR code or key) and confirm it with a code."""
    user = request.user
    confirmed = twofactor.confirmed_device(user)
    if confirmed is not None:
        context = {"nav": "account", "device": confirmed, "form": TokenForm()}
        context["required"] = twofactor.required_for_everyone()
        return render(request, "accounts/otp_setup.html", context)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="medshield", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save()
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            django_otp.login(request, device)
            twofactor.done(request)
            record(AuditAction.ACCOUNT, request=request, detail={"change": "totp_enrolled"})
            messages.success(request, _("Two-factor authentication is on for your login."))
            return redirect(_next_url(request) if request.POST.get("next") else "otp-setup")
        form.add_error("token", _("The code is wrong or has expired. Enter the current code."))
    uri = device.config_url
    context = {
        "nav": "account",
        "form": form,
        "uri": uri,
        "secret": twofactor.secret_of(device),
        "qr": twofactor.qr_svg(uri),
        "must_enrol": twofactor.outstanding(request) == twofactor.ENROL,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "accounts/otp_enrol.html", context, status=400 if form.errors else 200)


@never_cache
@require_POST
def otp_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-factor off; needs a current code, and is refused when the hospital requires it."""
    if twofactor.required_for_everyone():
        messages.error(request, _("Two-factor authentication is required for every login here."))
        return redirect("otp-setup")
    device = twofactor.confirmed_device(request.user)
    form = TokenForm(request.POST)
    if device is None:
        return redirect("otp-setup")
    if form.is_valid() and device.verify_token(form.cleaned_data["token"]):
        TOTPDevice.objects.filter(user=request.user).delete()
        record(AuditAction.ACCOUNT, request=request, detail={"change": "totp_removed"})
        messages.success(request, _("Two-factor authentication is off for your login."))
    else:
        messages.error(request, _("The code is wrong or has expired. Enter the current code."))
    return redirect("otp-setup")
