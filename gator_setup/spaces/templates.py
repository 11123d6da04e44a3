"""Starter Space folders (`gator space template NAME DIR`), read from the TOML data files beside this."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gator_setup.errors import InputError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Template:
    """A named set of files to write."""

    name: str
    description: str
    files: dict[str, str]
    after_deploy: str = ""  # what to do once the Space is up, shown by `gator space template`


def available() -> list[str]:
    """Names of the bundled templates."""
    folder = resources.files("gator_setup.spaces") / "templates"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load(name: str) -> Template:
    """The template `name`, or an UnknownNameError listing the others."""
    if name not in available():
        raise UnknownNameError("template", name, available())
    text = (resources.files("gator_setup.spaces") / "templates" / f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    files = {str(path): str(body) for path, body in data["files"].items()}
    return Template(str(data["name"]), str(data["description"]), files, str(data.get("after_deploy", "")))


def write(name: str, dest: Path, *, force: bool = False) -> list[Path]:
    """Write the template into dest (created if needed); refuses to overwrite unless force."""
    return write_template(load(name), dest, force=force)


def write_template(template: Template, dest: Path, *, force: bool = False) -> list[Path]:
    """Write a loaded template into dest; refuses to overwrite unless force."""
    if dest.exists() and not dest.is_dir():
        raise InputError(dest, "exists and is not a folder.")
    clashes = [p for p in template.files if (dest / p).exists()]
    if clashes and not force:
        raise InputError(
            dest, f"already has {', '.join(clashes)}.", hint="Pick an empty folder or pass --force."
        )
    written = []
    for rel, body in template.files.items():
        target = dest / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        except OSError as exc:  # (a parent that is a file, a read-only disk: the user's to fix)
            raise InputError(dest, f"cannot write {rel} there ({exc.strerror}).") from None
        written.append(target)
    return written
