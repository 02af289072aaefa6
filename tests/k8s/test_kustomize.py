"""`kubectl kustomize` (when kubectl is installed) builds every variant, and our
offline model of it (tests/k8s/manifests.py) yields the same objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.k8s.manifests import VARIANTS, build

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")


def _kustomize(directory: Path, components: tuple[str, ...], tmp_path: Path) -> list[dict]:
    target = directory
    if components:
        # Components are enabled by an overlay, as a user would: one outside k8s/
        # (a root may not contain its own overlay), reaching k8s/ through a symlink.
        (tmp_path / "k8s").symlink_to(directory)
        (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["k8s"], "components": [f"k8s/components/{c}" for c in components],
        }))  # fmt: skip
        target = tmp_path
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(target)], capture_output=True, text=True,
                         timeout=60, check=True).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if d]


IDS = [f"{d.name}+{','.join(c) or 'base'}" for d, c in VARIANTS]


@pytest.mark.parametrize(("directory", "components"), VARIANTS, ids=IDS)
def test_kubectl_kustomize_matches_the_offline_model(
    directory: Path, components: tuple[str, ...], tmp_path: Path
) -> None:
    real = _kustomize(directory, components, tmp_path)
    model = build(directory, components)

    def ids(objs: list[dict]) -> set[tuple[str, str, str | None]]:
        return {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objs}

    assert ids(real) == ids(model)
    images = {c["image"] for o in real for c in _containers(o)}
    assert images <= {"streams-worker:0.1.0", "redis:7.2-alpine"}


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec", {})
    spec = spec.get("jobTemplate", {}).get("spec", spec)
    return spec.get("template", {}).get("spec", {}).get("containers", [])
