"""Log in and out with Django's own views; a logged-in user going to /login/ lands on the queue.
Logging out is POST only (Django 5), so a link or an image cannot log anyone out."""

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


logout = auth_views.LogoutView.as_view()
