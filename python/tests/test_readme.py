"""The README's quickstarts run as written (those needing no extra framework)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r"^## (.+?)\n.*?```python\n(.*?)```", text, re.S | re.M):
        found[m.group(1).strip()] = m.group(2)
    return found


@pytest.mark.parametrize("title", ["Plain", "WSGI (Flask, gunicorn)"])
def test_quickstart_runs(title: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = blocks()[title]
    monkeypatch.chdir(tmp_path)  # the quickstarts create scim.db in the working directory
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(code, f"README.md ({title})", "exec"), namespace)
    assert (tmp_path / "scim.db").exists()


def test_plain_quickstart_prints_the_empty_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks()["Plain"], "README.md (Plain)", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip() == "200 0"


def test_every_quickstart_is_there() -> None:
    assert {
        "Plain",
        "WSGI (Flask, gunicorn)",
        "ASGI (FastAPI, Starlette, uvicorn)",
        "PostgreSQL",
        "Django",
    } <= set(blocks())
