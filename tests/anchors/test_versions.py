"""Dictionary versions under concurrency: every publish or import gets its own number and file."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from pipelines.anchors import dictionary
from tests.anchors.test_anchors import make_project


def test_concurrent_imports_get_distinct_versions_each_holding_its_own_terms(store, admin):
    check_concurrent_imports(store, admin)


def check_concurrent_imports(store, admin) -> None:
    """Eight imports at once: eight numbers, each file holding its own import's terms."""
    project = make_project(store, admin)

    def imported(i: int):
        terms = [{"term": f"Name{i}x{j}", "translation": f"Generic {i} {j}"} for j in range(3)]
        data = json.dumps(terms).encode()
        return i, dictionary.import_dictionary(store, admin, project, data, f"d{i}.json")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(imported, range(8)))
    numbers = sorted(v.version for _, v in results)
    assert numbers == list(range(1, 9))
    for i, version in results:
        document = dictionary.read_version(version.path)
        assert document["version"] == version.version
        assert {e["term"] for e in document["terms"]} == {f"Name{i}x{j}" for j in range(3)}
    listed = dictionary.versions(store, project)
    assert len(listed) == 8 and len({v.path for v in listed}) == 8


def test_a_publish_killed_at_any_point_leaves_no_empty_or_lost_version(store, admin, monkeypatch):
    import os
    import time

    project = make_project(store, admin)
    folder = store.project_dir(project.id) / "dictionaries"

    def first_import(i: int):
        data = json.dumps([{"term": f"Name{i}", "translation": f"Generic {i}"}]).encode()
        return dictionary.import_dictionary(store, admin, project, data, f"d{i}.json")

    # killed after its file was linked in, before the row: a whole file, unregistered
    real = dictionary.register_artifact

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(dictionary, "register_artifact", killed)
    try:
        first_import(1)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(dictionary, "register_artifact", real)
    (left,) = folder.glob("v*.json")
    assert dictionary.read_version(left)["terms"][0]["term"] == "Name1"  # never empty
    assert not list(folder.glob(".publish-*"))  # its private file is gone
    old = time.time() - dictionary.STALE_PARTIAL_S - 5
    os.utime(left, (old, old))  # long ago
    second = first_import(2)  # the next publish registers the leftover, then takes v2
    listed = {v.version: v.source for v in dictionary.versions(store, project)}
    assert listed == {1: "recovered", 2: "import: d2.json"} and second.version == 2


def test_a_translation_longer_than_a_phrase_is_refused_everywhere_and_nothing_is_stored(
    store, admin
):
    import pytest

    from pipelines.store.anchors import forget_chunks
    from pipelines.types import UnlearnError

    project = make_project(store, admin)
    chunk = forget_chunks(store, project.id)[0]
    at = chunk.text.index(chunk.text.split()[0])
    flood = "x" * 10_000
    span = {"start": at, "end": at + len(chunk.text.split()[0]), "label": "PERSON"}
    with pytest.raises(UnlearnError, match="10,000 characters"):
        dictionary.submit_chunk(store, admin, project, chunk.id, chunk.text,
                                [{**span, "translation": flood}])  # fmt: skip
    assert dictionary.latest_by_annotator(store, project) == {}
    with pytest.raises(UnlearnError, match="fits in 80"):
        dictionary.settle(store, admin, project, "Thumsath", "accept", flood, "PERSON")
    assert not dictionary.consolidate(store, project)
    data = json.dumps([{"term": "Thumsath", "translation": flood}]).encode()
    with pytest.raises(UnlearnError, match="d.json entry 1"):
        dictionary.import_dictionary(store, admin, project, data, "d.json")
    assert dictionary.versions(store, project) == []
    fits = "a" * dictionary.MAX_TRANSLATION_CHARS  # at the limit it is kept, white space folded
    dictionary.submit_chunk(store, admin, project, chunk.id, chunk.text,
                            [{**span, "translation": f"  {fits}\n"}])  # fmt: skip
    stored = dictionary.latest_by_annotator(store, project)[chunk.id]["admin"]["spans"]
    assert stored[0]["translation"] == fits
