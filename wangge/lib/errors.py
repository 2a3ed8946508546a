"""Domain errors: each carries a stable code, an HTTP status and a translated message.

Actions raise them; `wangge/api.py` and the views turn them into responses, so a user always
reads the message in their language and an integration can branch on the code.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, fields: dict | None = None, **params):
        self.message = message if message is not None else self.default_message
        self.params = params
        self.fields = fields or {}
        super().__init__(str(self.code))

    def text(self) -> str:
        msg = str(self.message)
        return msg % self.params if self.params else msg


class InvalidInput(DomainError):
    code = "invalid"
    status = 400
    default_message = _("Some fields are not valid.")


class NotAuthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    default_message = _("Please log in first.")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("Your role does not allow this.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("This was changed by someone else meanwhile; reload and try again.")


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = _("This action is not possible while the case is “%(state)s”.")


class CaseChangedMeanwhile(Conflict):
    code = "changed_meanwhile"
    default_message = _("Someone else acted on this case meanwhile; reload and try again.")


class PayloadTooLarge(DomainError):
    code = "too_large"
    status = 413
    default_message = _("The upload is too large.")
