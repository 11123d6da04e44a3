"""Model-card front matter: what becomes cardData and which tags the Hub derives from it."""

from __future__ import annotations

import pytest

from gator_setup.mirror.cards import card_tags, front_matter


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("---\nlicense: mit\n---\n# x\n", {"license": "mit"}),
        ("\ufeff---\ntags: [a, b]\n---\n", {"tags": ["a", "b"]}),  # a BOM before the fence
        ("---\ndate: 2024-01-02\nn: 3\n---\n", {"date": "2024-01-02", "n": 3}),  # dates as JSON strings
        ("# no front matter\n---\nlicense: mit\n---\n", {}),  # the fence must open the file
        ("---\nlicense: [unclosed\n---\n", {}),  # invalid YAML
        ("---\n- a list\n---\n", {}),  # not a mapping
        ("---\nlicense: mit\n", {}),  # never closed
        ("", {}),
    ],
)
def test_front_matter(text: str, card: dict[str, object]) -> None:
    assert front_matter(text) == card


def test_tags_as_the_hub_derives_them() -> None:
    card = {
        "tags": ["tiny", "tiny"],
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "datasets": "acme/set",
        "base_model": ["org/base"],
        "language": ["en", "fr"],
        "license": "apache-2.0",
    }
    assert card_tags(card, "model") == [
        "tiny",
        "transformers",
        "text-generation",
        "dataset:acme/set",
        "base_model:org/base",
        "en",
        "fr",
        "license:apache-2.0",
    ]
    assert card_tags({"task_categories": ["translation"], "size_categories": "n<1K"}, "dataset") == [
        "task_categories:translation",
        "size_categories:n<1K",
    ]
    assert card_tags({"tags": None, "license": None}, "space") == []
