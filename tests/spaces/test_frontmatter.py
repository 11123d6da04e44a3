"""README front matter: validated against --sdk and the folder, completed when missing."""

from __future__ import annotations

import pytest
import yaml

from gator_setup.errors import InputError, UsageError
from gator_setup.spaces.frontmatter import resolve, split


def no_read(_: str) -> str:
    return ""


def meta_of(readme: str) -> dict:
    fm = split(readme)
    assert fm.meta is not None
    return fm.meta


def test_missing_readme_gets_full_front_matter() -> None:
    r = resolve(None, {"app.py"}, lambda _: "import gradio as gr", None, "demo")
    assert (r.sdk, r.app_file) == ("gradio", "app.py")
    meta = meta_of(r.readme)
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["title"] == "demo"


def test_readme_without_front_matter_keeps_body() -> None:
    r = resolve("# My app\n", {"app.py", "README.md"}, lambda _: "import streamlit as st", None, "demo")
    assert r.sdk == "streamlit"
    assert r.readme.endswith("---\n# My app\n")
    assert meta_of(r.readme)["sdk"] == "streamlit"


def test_partial_front_matter_keeps_user_lines_and_comments() -> None:
    readme = "---\ntitle: Mine  # keep me\nsdk: gradio\n---\nbody\n"
    r = resolve(readme, {"main.py", "app.py"}, no_read, None, "demo")
    assert "title: Mine  # keep me" in r.readme and r.added == ("app_file",)
    assert meta_of(r.readme)["app_file"] == "app.py"


def test_complete_front_matter_is_left_alone() -> None:
    readme = "---\nsdk: static\napp_file: site/index.html\n---\n"
    r = resolve(readme, {"site/index.html"}, no_read, "static", "demo")
    assert r.readme == readme and r.added == ()


def test_sdk_conflict_and_unknown_sdk() -> None:
    with pytest.raises(UsageError, match="contradicts"):
        resolve("---\nsdk: gradio\n---\n", {"app.py"}, no_read, "streamlit", "d")
    with pytest.raises(InputError, match="not one of"):
        resolve("---\nsdk: flask\n---\n", {"app.py"}, no_read, None, "d")


def test_app_file_must_exist() -> None:
    with pytest.raises(UsageError, match=r"main\.py"):
        resolve("---\nsdk: gradio\napp_file: main.py\n---\n", {"app.py"}, no_read, None, "d")
    with pytest.raises(UsageError, match=r"app\.py"):
        resolve(None, {"lib.py"}, no_read, "gradio", "d")
    with pytest.raises(UsageError, match="Dockerfile"):
        resolve(None, {"app.py"}, no_read, "docker", "d")
    with pytest.raises(UsageError, match="Cannot tell"):
        resolve(None, {"notes.txt"}, no_read, None, "d")


def test_docker_inferred_without_app_file() -> None:
    r = resolve(None, {"Dockerfile", "server.js"}, no_read, None, "d")
    assert (r.sdk, r.app_file) == ("docker", None)
    assert "app_file" not in yaml.safe_load(r.readme.split("---")[1])


def test_bad_yaml_names_line() -> None:
    with pytest.raises(InputError, match=r"README\.md:\d+: invalid YAML"):
        resolve("---\nsdk: [gradio\n---\n", {"app.py"}, no_read, None, "d")
    with pytest.raises(InputError, match="never closed"):
        resolve("---\nsdk: gradio\n", {"app.py"}, no_read, None, "d")
