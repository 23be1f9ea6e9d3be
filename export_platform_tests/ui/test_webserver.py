"""What a real webserver serves from workspace.yaml over GraphQL, the API the UI itself reads: both code
locations, one lineage graph across them, the assets' UI metadata and checks, and the adhoc_export
launchpad's config fields with their descriptions and defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from export_platform.exports.adhoc import AdhocExportConfig
from export_platform_tests.support.seed_plan import TENANT
from export_platform_tests.support.webserver import graphql, instance_home, webserver

pytestmark = pytest.mark.browser

ASSETS = """
{ assetNodes {
    assetKey { path } groupName description kinds isMaterializable
    dependencyKeys { path }
    owners { ... on TeamAssetOwner { team } }
    repository { location { name } }
    metadataEntries { label ... on CodeReferencesMetadataEntry {
        codeReferences { ... on LocalFileCodeReference { filePath lineNumber label } } } }
    assetChecksOrError { ... on AssetChecks { checks { name description } } }
} }
"""

LAUNCHPAD = """
query ($selector: PipelineSelector!) {
  runConfigSchemaOrError(selector: $selector) {
    __typename
    ... on RunConfigSchema { allConfigTypes { key ... on CompositeConfigType {
        fields { name description isRequired defaultValueAsJson } } } }
  }
}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("webserver-home")
    instance_home(home, [TENANT])
    # The embedded default source and store, whatever the shell that runs the tests has set.
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("EXPORT_SOURCE_URL", "EXPORT_ARTIFACT_ROOT")
    }
    env = {**inherited, "DAGSTER_HOME": str(home)}
    with webserver(env, home / "webserver.log") as url:
        yield url


def test_both_code_locations_load(base: str) -> None:
    data = graphql(
        base,
        "{ workspaceOrError { ... on Workspace { locationEntries { name "
        "locationOrLoadError { __typename } } } } }",
    )
    entries = {
        e["name"]: e["locationOrLoadError"]["__typename"] for e in data["workspaceOrError"]["locationEntries"]
    }
    assert entries == {"export_platform": "RepositoryLocation", "downstream_example": "RepositoryLocation"}


def test_assets_carry_their_ui_metadata_across_locations(base: str) -> None:
    nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(base, ASSETS)["assetNodes"]}
    sales_csv = nodes[("sales_csv",)]
    # One node, from the location that materializes it, even though the downstream one declares it too.
    assert sales_csv["isMaterializable"] and sales_csv["repository"]["location"]["name"] == "export_platform"
    assert nodes[("warehouse_sales",)]["dependencyKeys"] == [{"path": ["sales_csv"]}]
    assert nodes[("warehouse_sales",)]["repository"]["location"]["name"] == "downstream_example"
    for key, node in nodes.items():
        assert node["groupName"] in ("datasets", "exports", "automation", "warehouse"), key
        assert node["description"] and len(node["description"].split()) >= 15, key
        assert node["kinds"] and node["owners"] == [{"team": "data-platform"}], key
        references = [
            r
            for e in node["metadataEntries"]
            if e["label"] == "dagster/code_references"
            for r in e["codeReferences"]
        ]
        assert references and all(Path(r["filePath"]).is_file() for r in references), key
    assert {c["name"] for c in sales_csv["assetChecksOrError"]["checks"]} == {"artifact_matches_metadata"}
    assert all(c["description"] for c in sales_csv["assetChecksOrError"]["checks"])
    # The webserver runs on the embedded default: a SQLite source and a local artifact folder.
    assert sorted(nodes[("sales_csv",)]["kinds"]) == ["csv", "file"]
    assert sorted(nodes[("sales_xlsx",)]["kinds"]) == ["excel", "file"]
    assert sorted(nodes[("sales",)]["kinds"]) == ["parquet", "polars", "sqlite"]


def test_adhoc_export_launchpad_shows_each_field_with_description_and_default(base: str) -> None:
    selector = {
        "repositoryLocationName": "export_platform",
        "repositoryName": "__repository__",
        "pipelineName": "adhoc_export",
    }
    schema = graphql(base, LAUNCHPAD, {"selector": selector})["runConfigSchemaOrError"]
    assert schema["__typename"] == "RunConfigSchema"
    expected = set(AdhocExportConfig.model_fields)
    request = next(
        t for t in schema["allConfigTypes"] if {f["name"] for f in t.get("fields") or []} == expected
    )
    for field in request["fields"]:
        name = field["name"]
        assert field["description"] == AdhocExportConfig.model_fields[name].description, name
        assert field["isRequired"] == (name in ("tenant", "dataset")), name
        if not field["isRequired"]:
            default = AdhocExportConfig.model_fields[name].default
            assert json.loads(field["defaultValueAsJson"]) == default, name
