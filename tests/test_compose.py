"""Tests of the deployment files: docker-compose.yml and the Dockerfile, by parsing them.

Docker need not be installed: the file is read with PyYAML. When the docker CLI has
the compose plugin, ``docker compose config`` also checks it (no engine needed).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PRODUCTION = {"redis", "worker", "beat"}
DEV_ONLY = {"flower", "mailpit"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # PyYAML resolves the `<<: *newsmon` merge keys as compose does.
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def test_production_services_and_dev_profile(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == PRODUCTION | DEV_ONLY
    for name in PRODUCTION:
        assert "profiles" not in services[name], name
    for name in DEV_ONLY:
        assert services[name]["profiles"] == ["dev"], name


def test_redis_is_durable_and_never_evicts(services: dict[str, dict[str, Any]]) -> None:
    command = _command(services["redis"])

    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    # A password from the environment, never a literal one in the file.
    assert options["--requirepass"].startswith("${REDIS_PASSWORD")


def test_redis_data_lives_in_a_declared_named_volume(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["redis"]["volumes"]
    mounts = [v.split(":") if isinstance(v, str) else [v["source"], v["target"]]
              for v in volumes]
    data_mounts = [source for source, target, *_ in mounts if target == "/data"]

    assert len(data_mounts) == 1
    source = data_mounts[0]
    assert not source.startswith((".", "/", "~")), "a named volume, not a bind mount"
    assert source in (compose.get("volumes") or {})


def test_services_reach_redis_with_the_password(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "beat"):
        url = services[name]["environment"]["NEWSMON_REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD"), name
        assert "@redis:6379/" in url, name
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["redis", "worker", "beat"])
def test_healthcheck_and_restart_policy(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]

    assert service["restart"] in {"always", "unless-stopped", "on-failure"}
    test = service["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}
    assert any(part.strip() for part in test[1:])


def test_exactly_one_beat(services: dict[str, dict[str, Any]]) -> None:
    beats = [name for name, service in services.items() if "beat" in _command(service)
             or "--beat" in _command(service)]

    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in services["beat"]


@pytest.mark.parametrize(("name", "subcommand"), [("worker", "worker"), ("beat", "beat"),
                                                  ("flower", "flower")])
def test_celery_commands(services: dict[str, dict[str, Any]], name: str,
                         subcommand: str) -> None:
    assert _command(services[name])[:4] == ["celery", "-A", "worker", subcommand]


def test_dev_ports_listen_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    ports = [str(p) for service in services.values() for p in service.get("ports", [])]

    assert ports
    assert all(p.startswith("127.0.0.1:") for p in ports)


def _dockerfile() -> list[list[str]]:
    return [line.split() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _copied_sources() -> list[str]:
    return [source.removeprefix("./") for args in _dockerfile()
            if args[0].upper() == "COPY" for source in args[1:-1]
            if not source.startswith("--")]


def test_dockerfile_copies_the_package_and_rules() -> None:
    assert {"worker", "rules"} <= set(_copied_sources())
    # The image does not run as root.
    assert any(args[0].upper() == "USER" and args[1] != "root" for args in _dockerfile())


def test_every_file_the_dockerfile_copies_exists() -> None:
    # `docker build` stops at a COPY whose source is missing from the context.
    missing = [source for source in _copied_sources() if not (ROOT / source).exists()]

    assert missing == []


def _compose_plugin() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    return docker if probe.returncode == 0 else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = _compose_plugin()
    if docker is None:
        pytest.skip("the docker CLI has no compose plugin")
    env = {**os.environ, "REDIS_PASSWORD": "x"}
    for profile in ([], ["--profile", "dev"]):
        result = subprocess.run(
            [docker, "compose", "-f", str(COMPOSE), *profile, "config", "--quiet"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert result.returncode == 0, result.stderr


def test_docker_compose_config_requires_the_password(tmp_path: Path) -> None:
    docker = _compose_plugin()
    if docker is None:
        pytest.skip("the docker CLI has no compose plugin")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_PASSWORD"}
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    assert result.returncode != 0
    assert "REDIS_PASSWORD" in result.stderr
