"""The links in every page's top bar, chosen by what the user may do. A link whose page is not
installed (its URL name does not resolve) is left out, so apps can come and go."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from wangge.accounts.permissions import Perm, active_assignments, has_perm, roles_of

# (URL name, label, who sees it: a Perm, "grid_worker", "metrics_of_a_grid" (metrics over a part
# of the grid, not only a unit's), or None for everyone)
LINKS = [
    ("queue", _("Queue"), Perm.VIEW_CASE),
    ("operator_entry", _("Hotline entry"), Perm.REPORT_CASE),
    ("console_map", _("Map"), Perm.VIEW_CASE),
    ("h5_home", _("My tasks"), "grid_worker"),
    ("registry", _("Registry"), Perm.VIEW_RESIDENTS),
    ("projects_home", _("Livelihood projects"), "projects"),
    ("timebank_home", _("Time bank"), Perm.MANAGE_COMMUNITY),
    ("participation_home", _("Community life"), Perm.MANAGE_COMMUNITY),
    ("deliberation_home", _("Deliberation"), Perm.MANAGE_COMMUNITY),
    ("big_screen", _("Big screen"), "metrics_of_a_grid"),
    ("reports", _("Reports"), "metrics_of_a_grid"),
    ("portal_report", _("Report a problem"), None),
    ("community_home", _("Community"), None),
    ("track", _("Track a case"), None),
    ("my_data", _("Who read my data"), None),
]


def _allowed(user, who) -> bool:
    if who is None:
        return True
    if not user.is_authenticated:
        return False
    if who == "grid_worker":
        return "grid_worker" in roles_of(user)
    if who == "projects":
        return has_perm(user, Perm.MANAGE_COMMUNITY) or has_perm(user, Perm.SUPERVISE_PROJECTS)
    if who == "metrics_of_a_grid":  # a unit's handlers have metrics but no part of the grid
        return any(a.cell is not None for a in active_assignments(user, Perm.VIEW_METRICS))
    return has_perm(user, who)


def navigation(request):
    links = []
    for name, label, who in LINKS:
        if not _allowed(request.user, who):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"name": name, "url": url, "label": label})
    return {"nav_links": links}
