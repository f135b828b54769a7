"""Every message exists in every locale, with the same placeholders, and none is empty."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import LOCALES, read_catalog
from storage.models import ReportStatus, Role

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p for d in ("bot", "handlers", "storage", "scheduler") for p in (ROOT / d).rglob("*.py")
]
KEY = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")


def catalog_keys(locale: str) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in read_catalog(locale) if m.id}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


FIRST_ARG = ("t", "reply", "MediaError", "Term")
# (locale, report, unit or person; key, ...)
SECOND_ARG = ("t_for", "reporter", "tier", "text", "groups", "person")


def keys_used_in_code() -> set[str]:
    """Literal message keys passed to t(), reply(), t_for(), Tell's reporter() and tier(),
    Term(), MediaError(), and as menu= or followers=."""
    used: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            values = [a for a in node.args[:1] if name in FIRST_ARG]
            values += [a for a in node.args[1:2] if name in SECOND_ARG]
            values += [k.value for k in node.keywords if k.arg in ("menu", "followers")]
            used |= {
                v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return {k for k in used if KEY.match(k)}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    messages = catalog_keys(locale)
    assert messages, f"no messages in {locale}"
    empty = sorted(k for k, v in messages.items() if not v.strip())
    assert empty == []


def test_locales_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalog_keys("zh_CN"), catalog_keys("en")
    assert sorted(zh.keys() - en.keys()) == []
    assert sorted(en.keys() - zh.keys()) == []
    mismatched = sorted(k for k in zh if placeholders(zh[k]) != placeholders(en[k]))
    assert mismatched == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_the_code_uses_exists(locale: str) -> None:
    used = keys_used_in_code() | {f"role.{r.value}" for r in Role}
    used |= {f"report.status.{s.value}" for s in ReportStatus}
    assert len(used) > 20  # the scan found the handlers' keys
    assert sorted(used - catalog_keys(locale).keys()) == []
