"""Weekly and monthly reports under /reports/ (views/reports.py)."""

urlpatterns = []
