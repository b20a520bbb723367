"""Microsoft sign-in refusals (AADSTS codes) in words a billing admin acts on.

Entra ID answers a refused sign-in with a code (``AADSTS700016``) and an
English description meant for developers. ``in_words`` turns a failure's
text that carries such a code into one sentence saying what is wrong and
what to do, keeping the code for support; any other text is returned as is.
The window (``app.ui.errors``), the run history and the notices use it.
"""

from __future__ import annotations

import re

_CONSENT = ("consent or a permission is missing in the customer's tenant: have its admin grant consent to "
            "seatsync's app")

#: AADSTS number -> what is wrong, and what to do.
SIGNIN_CODES = {
    "700016": "seatsync's app is not found in the customer's tenant (consent was never granted, or was "
              "removed): have its admin grant consent",
    "7000215": "the Microsoft app's client secret is wrong: enter the current one in Settings",
    "7000222": "the Microsoft app's client secret has expired: create a new one in Entra ID and enter it in "
               "Settings",
    "50020": _CONSENT,
    "65001": _CONSENT,
    "90002": "Microsoft knows no such tenant: check the tenant ID, or remove the customer from seatsync",
}

_CODE = re.compile(r"AADSTS(\d+)")


def signin_code(text: str) -> str:
    """The first AADSTS code in ``text`` ("AADSTS700016"), or ""."""
    found = _CODE.search(text or "")
    return found.group(0) if found else ""


def in_words(text: str) -> str:
    """``text`` as a sentence when it holds a Microsoft sign-in code, else ``text`` itself."""
    code = signin_code(text)
    if not code:
        return text
    words = SIGNIN_CODES.get(code.removeprefix("AADSTS"))
    return f"Microsoft sign-in refused: {words} ({code})" if words else f"Microsoft sign-in refused ({code})"
