"""Chinese is complete, English is the msgid, and no page loads anything from the internet."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from wangge.cases.models import CaseState
from wangge.lib.errors import CaseChangedMeanwhile

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry of a .po file, header excluded."""
    out = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block
        ids = re.findall(r'^msgid(?:_plural)? "(.*)"((?:\n".*")*)', block, re.M)
        strs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"((?:\n".*")*)', block, re.M)
        if not ids:
            continue
        msgid = ids[0][0] + "".join(re.findall(r'"(.*)"', ids[0][1]))
        msgstrs = [s[0] + "".join(re.findall(r'"(.*)"', s[1])) for s in strs]
        if msgid:
            out.append((msgid, min(msgstrs, key=len) if msgstrs else "", fuzzy))
    return out


def test_every_chinese_entry_is_translated_and_none_is_fuzzy():
    entries = _entries(PO.read_text(encoding="utf-8"))
    missing = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert len(entries) > 100
    assert missing == []


def test_chinese_is_the_default_and_english_is_the_msgid():
    # The language a request would get without asking for one.
    with translation.override(settings.LANGUAGE_CODE):
        assert str(CaseState.DISPATCHED.label) == "已派单"
        assert CaseChangedMeanwhile().text() == "其他人刚刚处理了此案件，请刷新后重试。"
    with translation.override("en"):
        assert str(CaseState.DISPATCHED.label) == "Dispatched"


def test_no_template_or_stylesheet_loads_anything_from_the_internet():
    offenders = []
    for path in [*ROOT.rglob("templates/**/*.html"), *ROOT.rglob("static/**/*.css")]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"""(?:src|href|url)\s*[=(]\s*["']?(https?:)?//""", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offenders == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_message_in_the_code_is_in_the_chinese_catalogue(tmp_path):
    # Extract the messages afresh from a copy of the package and compare with the catalogue.
    copy = tmp_path / "wangge"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("tests", "__pycache__", "static"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy, check=True, capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )  # fmt: skip
    fresh = {msgid for msgid, _, _ in _entries((copy / PO.relative_to(ROOT)).read_text("utf-8"))}
    known = {msgid for msgid, _, _ in _entries(PO.read_text(encoding="utf-8"))}
    assert sorted(fresh - known) == []
