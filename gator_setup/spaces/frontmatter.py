"""The README's YAML front matter: read it, check it against the folder, complete it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gator_setup.errors import InputError, UsageError
from gator_setup.spaces.naming import SDKS

# What each SDK starts: the file the Hub runs, and whether front matter may name another one.
DEFAULT_APP_FILE = {"gradio": "app.py", "streamlit": "app.py", "static": "index.html"}


@dataclass(frozen=True)
class FrontMatter:
    """A README split into its YAML block (None when absent) and the rest."""

    meta: dict[str, Any] | None
    yaml_text: str
    body: str


@dataclass(frozen=True)
class Resolved:
    """The SDK and app file a deploy will use, plus the README to upload."""

    sdk: str
    app_file: str | None
    readme: str
    added: tuple[str, ...] = field(default=())  # front-matter keys gator wrote


def split(text: str, path: str = "README.md") -> FrontMatter:
    """Split `---\\n yaml \\n---` off the top of a README."""
    import yaml

    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return FrontMatter(None, "", text)
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            yaml_text = "".join(lines[1:i])
            try:
                meta = yaml.safe_load(yaml_text) if yaml_text.strip() else {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 2 if mark is not None else None
                raise InputError(
                    path, f"invalid YAML front matter: {getattr(exc, 'problem', exc)}", line=line
                ) from None
            if not isinstance(meta, dict):
                raise InputError(path, "the front matter must be a YAML mapping (key: value lines).", line=2)
            return FrontMatter(meta, yaml_text, "".join(lines[i + 1 :]))
    raise InputError(path, "front matter opened with '---' is never closed by another '---' line.", line=1)


def infer_sdk(files: set[str], read_text: Any) -> str | None:
    """Guess the SDK from the folder: Dockerfile, streamlit import in app.py, app.py, index.html."""
    if "Dockerfile" in files:
        return "docker"
    if "app.py" in files:
        source = read_text("app.py")
        return "streamlit" if "import streamlit" in source or "from streamlit" in source else "gradio"
    if "index.html" in files:
        return "static"
    return None


def resolve(
    readme_text: str | None,
    files: set[str],
    read_text: Any,
    sdk_option: str | None,
    title: str,
) -> Resolved:
    """Check the front matter against --sdk and the folder; return the README with what was missing."""
    fm = split(readme_text) if readme_text is not None else FrontMatter(None, "", "")
    meta = fm.meta or {}
    meta_sdk = meta.get("sdk")
    if meta_sdk is not None and meta_sdk not in SDKS:
        raise InputError("README.md", f"front matter sdk: {meta_sdk!r} is not one of {', '.join(SDKS)}.")
    if sdk_option and meta_sdk and sdk_option != meta_sdk:
        raise UsageError(
            f"--sdk {sdk_option} contradicts README.md front matter (sdk: {meta_sdk}).",
            hint="Drop --sdk or fix the front matter.",
        )
    sdk = sdk_option or meta_sdk or infer_sdk(files, read_text)
    if sdk is None:
        raise UsageError(
            "Cannot tell which SDK this folder uses: no app.py, Dockerfile or index.html.",
            hint="Add the app file or pass --sdk gradio|streamlit|docker|static.",
        )
    app_file: str | None = meta.get("app_file")
    if app_file is not None and not isinstance(app_file, str):
        raise InputError("README.md", f"front matter app_file must be a path, got {app_file!r}.")
    if sdk == "docker":
        if "Dockerfile" not in files:
            raise UsageError("sdk docker needs a Dockerfile at the top of the folder.")
        if app_file is not None and app_file not in files:
            raise InputError("README.md", f"front matter app_file: {app_file} is not in the folder.")
    else:
        expected = app_file or DEFAULT_APP_FILE[sdk]
        if expected not in files:
            source = "front matter app_file" if app_file else f"sdk {sdk}"
            raise UsageError(
                f"{source} expects {expected}, which is not in the folder.",
                hint=f"Add {expected} or set app_file in README.md front matter.",
            )
        app_file = expected

    additions: dict[str, Any] = {}
    if fm.meta is None:
        additions.update(title=title, emoji="🐊", colorFrom="green", colorTo="blue")
    if meta_sdk is None:
        additions["sdk"] = sdk
    if app_file is not None and "app_file" not in meta:
        additions["app_file"] = app_file
    if fm.meta is None:
        additions["pinned"] = False
    readme = _with_additions(fm, additions, readme_text)
    return Resolved(sdk, app_file, readme, tuple(additions))


def _with_additions(fm: FrontMatter, additions: dict[str, Any], original: str | None) -> str:
    """Append keys to the YAML block as new lines, so the user's own lines and comments stay as written."""
    import yaml

    if not additions:
        return original or ""
    new_lines = yaml.safe_dump(additions, sort_keys=False, allow_unicode=True)
    yaml_text = fm.yaml_text
    if yaml_text and not yaml_text.endswith("\n"):
        yaml_text += "\n"
    body = fm.body if fm.meta is not None else (original or "")
    return f"---\n{yaml_text}{new_lines}---\n{body}"
