"""Static files that ship inside installed Python packages we do not install as Django apps:
plotly's offline bundle (`vendor/plotly.min.js`, from the `plotly` package) and Leaflet
(`leaflet/…`, from `django-leaflet`, whose Django app would need GDAL). Maps and charts thus
draw on an intranet with no CDN, and the files are versioned with their packages instead of
being copied into the repository."""

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _package_dir(name: str) -> Path:
    return Path(importlib.util.find_spec(name).origin).parent


# URL prefix → (package, directory inside it, only these files or None for all)
SOURCES = {
    "vendor": ("plotly", "package_data", {"plotly.min.js"}),
    "leaflet": ("leaflet", "static/leaflet", None),
}


class PackageStaticFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def _roots(self):
        for prefix, (package, subdir, only) in SOURCES.items():
            yield prefix, _package_dir(package) / subdir, only

    def find(self, path, find_all=False, **kwargs):
        found = []
        for prefix, root, only in self._roots():
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :]
            candidate = (root / rest).resolve()
            inside = candidate.is_relative_to(root.resolve())  # no ../ out of the package
            if (only is None or rest in only) and inside and candidate.is_file():
                found.append(str(candidate))
        if find_all:
            return found
        return found[0] if found else None

    def list(self, ignore_patterns):
        for prefix, root, only in self._roots():
            storage = FileSystemStorage(location=str(root))
            storage.prefix = prefix  # collectstatic copies NAME to PREFIX/NAME
            for file in sorted(root.rglob("*")):
                rel = file.relative_to(root).as_posix()
                if file.is_file() and (only is None or rel in only) and not rel.endswith(".map"):
                    yield rel, storage
