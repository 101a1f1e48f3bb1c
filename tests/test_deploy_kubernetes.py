"""deploy/kubernetes/*.yaml against the Kubernetes JSON schemas bundled with
kubernetes-validate (offline: the network is cut while validating), and wired together: the
Service selects the Deployment's pods, the Ingress reaches the Service, the probes hit
Streamlit's health endpoint, and the secrets the app reads come from a Secret."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from sortlist_progress.instructor import INSTRUCTOR_TOKEN_ENV
from sortlist_progress.store import DATABASE_URL_ENV

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes still commonly run, and the newest schemas the package ships.
VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]


def documents() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict:
    (doc,) = [d for d in documents() if d["kind"] == kind]
    return doc


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_manifests_exist():
    assert {p.name for p in MANIFESTS} >= {"deployment.yaml", "service.yaml", "ingress.yaml"}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas_offline(version, no_network):
    docs = documents()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress"}
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)  # raises on any error


def test_the_validator_does_reject_a_broken_manifest(no_network):
    broken = by_kind("Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "eighty"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    typo = by_kind("Service")
    typo["spec"]["sesionAffinity"] = "ClientIP"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, VERSIONS[-1], strict=True)


def test_service_and_ingress_reach_the_deployments_pods():
    deployment, service, ingress = by_kind("Deployment"), by_kind("Service"), by_kind("Ingress")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    dockerfile_port = int(re.search(r"^EXPOSE (\d+)", (ROOT / "Dockerfile").read_text(), re.M)[1])
    assert ports == {"http": dockerfile_port}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert deployment["spec"]["replicas"] >= 2


def test_probes_use_streamlits_health_endpoint_and_affinity_is_by_cookie():
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    notes = by_kind("Ingress")["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_database_url_instructor_token_and_cookie_secret_come_from_a_secret():
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in (DATABASE_URL_ENV, INSTRUCTOR_TOKEN_ENV, "STREAMLIT_SERVER_COOKIE_SECRET"):
        assert "value" not in env[name], f"{name} must not be written into the manifest"
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "sortlist" and ref["key"]
    security = by_kind("Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True


def test_the_readme_creates_the_secret_keys_the_deployment_reads_and_applies_this_folder():
    readme = (ROOT / "README.md").read_text()
    created = set(re.findall(r"--from-literal=([a-z-]+)=", readme))
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    read = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    assert read and read == created
    assert "kubectl create secret generic sortlist " in readme
    assert "kubectl apply -f deploy/kubernetes/" in readme
