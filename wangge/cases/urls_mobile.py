"""The grid worker's H5 under /h5/ (views/mobile.py)."""

urlpatterns = []
