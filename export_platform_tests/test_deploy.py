"""The Helm values file in deploy/helm stays in step with the code location and the instance."""

from __future__ import annotations

from pathlib import Path

import yaml

from export_platform import settings

VALUES = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "values.yaml"
INSTANCE = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_code_location_serves_the_definitions_module() -> None:
    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == "export_platform.definitions"
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env[settings.ARTIFACT_ROOT_VAR].startswith("s3://")
    assert values()["dagster-user-deployments"]["enabled"] is True


def test_runs_are_kubernetes_jobs_with_the_same_secrets() -> None:
    chart = values()
    assert chart["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = chart["runLauncher"]["config"]["k8sRunLauncher"]
    (deployment,) = chart["dagster-user-deployments"]["deployments"]
    assert launcher["envSecrets"] == deployment["envSecrets"]


def test_one_daemon_queues_runs_one_per_tenant_like_the_instance_file() -> None:
    daemon = values()["dagsterDaemon"]
    assert daemon["enabled"] is True
    coordinator = daemon["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    instance = yaml.safe_load(INSTANCE.read_text())["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert limits == instance


def test_no_secret_value_in_the_file() -> None:
    text = VALUES.read_text().lower()
    for word in ("password:", "secret_access_key", "postgresql://", "smtp://"):
        assert word not in text, word
    assert values()["postgresql"]["enabled"] is False
