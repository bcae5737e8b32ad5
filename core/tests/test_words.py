"""Words a reader knows: the README and the code call the installation guide by that name."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The old name, spelt so that this file does not contain it.
OLD_NAME = "the " + "seed"
SKIPPED = {".venv", ".testenv", ".git", "node_modules", "benchmarks", "data", "staticfiles"}


def _texts() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if set(path.relative_to(ROOT).parts) & SKIPPED or not path.is_file():
            continue
        if path.suffix in {".py", ".html", ".md", ".yml", ".yaml", ".toml", ".js", ".css"} or path.name in {
            ".env.example",
            "Makefile",
            "Dockerfile",
        }:
            found.append(path)
    return found


def test_no_page_readme_or_comment_calls_the_installation_guide_the_old_name() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _texts()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OLD_NAME in line.lower() or f"{OLD_NAME}'s" in line.lower()
    ]
    assert offenders == [], f"say 'the installation guide' instead: {offenders}"
