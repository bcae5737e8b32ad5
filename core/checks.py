"""One check: did something pass, how bad is it if not, what to do about it.

The health endpoint and the diagnostics both speak in checks; each says who asks and how
its answer is shown (``core.health``, ``maintenance.diagnostics``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass
class Check:
    ok: bool
    detail: str
    level: str = ""
    id: str = ""
    title: str = ""
    advice: str = ""
    snippet: str = ""
    #: Facts shown with the check (an URL, a host), never a secret.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.level:
            self.level = OK if self.ok else ERROR


def passed(id: str, title: str, detail: str, advice: str = "", snippet: str = "") -> Check:
    return Check(ok=True, detail=detail, level=OK, id=id, title=title, advice=advice, snippet=snippet)


def warned(id: str, title: str, detail: str, advice: str, snippet: str = "") -> Check:
    return Check(ok=False, detail=detail, level=WARNING, id=id, title=title, advice=advice, snippet=snippet)


def failed(id: str, title: str, detail: str, advice: str, snippet: str = "") -> Check:
    return Check(ok=False, detail=detail, level=ERROR, id=id, title=title, advice=advice, snippet=snippet)
