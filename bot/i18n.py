"""Gettext catalogs (Babel .po files under locales/), one per locale, chosen per person."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("zh_CN", "en")
DOMAIN = "messages"


def po_path(locale: str, root: Path = LOCALES_DIR) -> Path:
    return root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str, root: Path = LOCALES_DIR) -> Catalog:
    with po_path(locale, root).open("rb") as fh:
        return read_po(fh, locale=locale)


def _compile(catalog: Catalog) -> gettext.GNUTranslations:
    # Compiled in memory at start-up: the .po files are the only source, no build step.
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@dataclass(frozen=True, slots=True)
class Translator:
    """Message keys to text in one locale; `{name}` placeholders are filled from keywords."""

    locale: str
    _gettext: gettext.GNUTranslations

    def t(self, key: str, **values: Any) -> str:
        text = self._gettext.gettext(key)
        return text.format(**values) if values else text


class Translations:
    def __init__(self, default: str = "zh_CN", root: Path = LOCALES_DIR) -> None:
        self.default = default
        self._by_locale = {
            loc: Translator(loc, _compile(read_catalog(loc, root))) for loc in LOCALES
        }

    def for_locale(self, locale: str | None) -> Translator:
        return self._by_locale.get(locale or self.default) or self._by_locale[self.default]
