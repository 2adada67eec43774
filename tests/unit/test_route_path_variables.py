"""API Gateway accepts one variable name per level of the path tree.

It builds one resource per path segment, and a resource may have at most one ``{variable}``
child: ``/admin/jobs/{name}/run`` and ``/admin/jobs/{job_id}`` could not both be deployed ("A
sibling ({name}) of this resource already has a variable path part -- only one is allowed"),
although ``chalice local`` serves them. So ``GET /admin/jobs/{name}`` names the job id ``name``.
"""

from __future__ import annotations

from collections import defaultdict

from chalice.deploy.swagger import CFNSwaggerGenerator


def _variables_by_parent(paths: list[str]) -> dict[str, set[str]]:
    children: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                children["/" + "/".join(parts[:depth])].add(part)
    return children


def test_no_two_routes_name_the_same_path_level_differently() -> None:
    from app import app

    paths = list(CFNSwaggerGenerator().generate_swagger(app)["paths"])
    clashes = {
        parent: names for parent, names in _variables_by_parent(paths).items() if len(names) > 1
    }

    assert clashes == {}
    assert "/admin/jobs/{name}" in paths and "/admin/jobs/{name}/run" in paths


def test_the_check_finds_a_clash() -> None:
    assert _variables_by_parent(["/a/{x}", "/a/{y}/run"]) == {"/a": {"{x}", "{y}"}}
