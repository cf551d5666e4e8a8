"""The finding-label links' map of need pages: made once per write phase, forgotten when needs may change."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import sphinx_needs.data

from kbgen.sphinxext import labels


class _Needs:
    """Stands for sphinx-needs' data; counts how often every need is walked."""

    walks: ClassVar[list[int]] = []
    view: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, env: object) -> None:
        pass

    def get_needs_view(self) -> dict[str, dict[str, str]]:
        self.walks.append(1)
        return self.view


def test_need_pages_are_mapped_once_until_reading_starts_or_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sphinx_needs.data, "SphinxNeedsData", _Needs)
    _Needs.walks = []
    _Needs.view = {"F1": {"docname": "kb/sessions/S1"}, "F2": {"docname": ""}}
    app: Any = SimpleNamespace(env=object())
    assert labels._needs_locations(app) == {"F1": "kb/sessions/S1"}
    assert labels._needs_locations(app) == {"F1": "kb/sessions/S1"}
    assert len(_Needs.walks) == 1, "the map is made again for every domain page"

    _Needs.view = {"F1": {"docname": "kb/sessions/S2"}}  # a page read again moved the need
    assert labels._forget_needs_locations(app, app.env, ["kb/sessions/S2"]) == []  # env-before-read-docs
    assert labels._needs_locations(app) == {"F1": "kb/sessions/S2"}
    assert labels._forget_needs_locations(app, app.env) == []  # env-updated: an iterable of docnames
    _Needs.view = {}
    assert labels._needs_locations(app) == {}
    assert len(_Needs.walks) == 3


def test_the_map_is_forgotten_at_both_ends_of_reading() -> None:
    connected: dict[str, Any] = {}
    app: Any = SimpleNamespace(add_post_transform=lambda transform: None,
                               connect=lambda event, handler: connected.setdefault(event, handler))
    labels.setup(app)
    assert connected == {"env-before-read-docs": labels._forget_needs_locations,
                         "env-updated": labels._forget_needs_locations}
