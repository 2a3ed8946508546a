"""Log in and out with Django's own views. Without a `next`, each user lands where their work
is: a grid worker on the phone's task list, a leader on the big screen, staff on the queue.
Logging out is POST only (Django 5), so a link or an image cannot log anyone out."""

from django.contrib.auth import views as auth_views
from django.urls import NoReverseMatch, reverse

from wangge.accounts.models import Role
from wangge.accounts.permissions import roles_of

# The first role the user holds decides (the URL names of the pages).
LANDING = [
    (Role.DISPATCHER, "queue"),
    (Role.COMMUNITY_SECRETARY, "queue"),
    (Role.UNIT_HANDLER, "queue"),
    (Role.SUPERVISOR, "queue"),
    (Role.DISCIPLINE_SUPERVISOR, "queue"),
    (Role.GRID_WORKER, "h5_home"),
    (Role.LEADER, "big_screen"),
    (Role.DEPUTY, "projects_home"),
]


def landing_url(user) -> str | None:
    roles = roles_of(user)
    for role, name in LANDING:
        if role in roles:
            try:
                return reverse(name)
            except NoReverseMatch:
                return None
    return None


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url(self.request.user) or super().get_default_redirect_url()


logout = auth_views.LogoutView.as_view()
