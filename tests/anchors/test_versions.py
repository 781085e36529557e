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
