"""12345 operator entry (views/operator.py)."""

urlpatterns = []
