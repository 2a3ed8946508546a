"""我的数据: a resident proves a phone number is theirs with a code, then sees who read their
records, when and why. No login: the verified phone, for half an hour in this browser session."""

from datetime import timedelta

from django import forms
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.lib.errors import DomainError
from wangge.lib.masking import mask_phone
from wangge.lib.throttle import throttled, too_many_text
from wangge.privacy import actions
from wangge.privacy.models import PhoneCheck
from wangge.privacy.queries import reads_of

SESSION_CHECK, SESSION_VERIFIED = "privacy_check", "privacy_verified"
VERIFIED_FOR = timedelta(minutes=30)
# Codes one client (address) may ask for per hour, whatever the numbers: each one is a text
# message sent at the county's cost. request_phone_check limits codes per number besides.
CODE_LIMIT = 5
HOUR = 3600


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Your phone number"), max_length=20)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("The code we sent you"), max_length=6, min_length=6)


def _verified(request) -> PhoneCheck | None:
    found = request.session.get(SESSION_VERIFIED)
    if not found:
        return None
    check = PhoneCheck.objects.filter(pk=found, verified_at__isnull=False).first()
    if check is None or timezone.now() - check.verified_at > VERIFIED_FOR:
        request.session.pop(SESSION_VERIFIED, None)
        return None
    return check


def _failed(form, exc: DomainError) -> None:
    for name, message in exc.fields.items():
        form.add_error(name if name in form.fields else None, str(message))
    if not exc.fields:
        form.add_error(None, exc.text())


def my_data(request):
    check = _verified(request)
    if check is not None:
        context = {"phone": mask_phone(check.phone), "reads": reads_of(check.phone)[:500]}
        return render(request, "privacy/reads.html", context)
    pending = PhoneCheck.objects.filter(pk=request.session.get(SESSION_CHECK) or 0).first()
    phone_form, code_form = PhoneForm(), CodeForm()
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and "phone" in request.POST:
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid() and throttled(request, "my_data", limit=CODE_LIMIT, per=HOUR):
            phone_form.add_error(None, too_many_text(HOUR))
            status = 429
        elif phone_form.is_valid():
            try:
                pending = actions.request_phone_check(phone_form.cleaned_data["phone"])
            except DomainError as exc:
                _failed(phone_form, exc)
            else:
                request.session[SESSION_CHECK] = pending.pk
                return redirect("my_data")
    elif request.method == "POST" and pending is not None:
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            try:
                actions.verify_phone_check(pending, code_form.cleaned_data["code"])
            except DomainError as exc:
                _failed(code_form, exc)
            else:
                request.session.cycle_key()  # a new session id once verified
                request.session[SESSION_VERIFIED] = pending.pk
                request.session.pop(SESSION_CHECK, None)
                return redirect("my_data")
    context = {
        "phone_form": phone_form,
        "code_form": code_form,
        "pending": mask_phone(pending.phone) if pending else "",
    }
    return render(request, "privacy/start.html", context, status=status)


def forget(request):
    request.session.pop(SESSION_VERIFIED, None)
    request.session.pop(SESSION_CHECK, None)
    return redirect("my_data")
