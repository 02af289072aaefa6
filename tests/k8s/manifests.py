"""Load the k8s/ tree the way `kubectl apply -k` would, without kubectl.

A small kustomize subset, exactly what k8s/ uses: `resources` (files and
directories holding a kustomization), `components`, `namespace`, `images`
(newName/newTag), generators without name suffixes, and `$patch: delete`
patches. When kubectl is installed, test_kustomize.py checks this rendering
against `kubectl kustomize`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
#: The Kubernetes version the manifests are written for (docs/operations.md).
KUBERNETES_VERSION = "1.30.0"
COMPONENTS = ("keda", "producer-cronjob")
#: Every variant a user may deploy: (kustomization directory, components enabled).
VARIANTS: tuple[tuple[Path, tuple[str, ...]], ...] = (
    (K8S, ()),
    (K8S, ("keda",)),
    (K8S, ("producer-cronjob",)),
    (K8S / "redis", ()),
)
#: Standalone manifests applied by hand (not part of any kustomization).
STANDALONE = (K8S / "ops" / "operator-pod.yaml",)
CUSTOM_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ScaledObject",
                "TriggerAuthentication"}  # fmt: skip

Obj = dict[str, Any]


@functools.cache
def load_generate() -> ModuleType:
    """k8s/generate.py as a module (it is a script, not in a package)."""
    spec = importlib.util.spec_from_file_location("k8s_generate", K8S / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_docs(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _key(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def build(directory: Path, components: tuple[str, ...] = ()) -> list[Obj]:
    """The objects `kubectl kustomize` prints for `directory` plus `components`."""
    kz = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objs: list[Obj] = []
    for res in kz.get("resources") or []:
        target = (directory / res).resolve()
        objs.extend(build(target) if target.is_dir() else load_docs(target))
    for comp in [*(kz.get("components") or []), *(f"components/{c}" for c in components)]:
        objs = _component(directory / comp, objs)
    objs = _patch(directory, kz, objs)
    return _finish(directory, kz, objs)


def _component(directory: Path, objs: list[Obj]) -> list[Obj]:
    kz = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert kz["kind"] == "Component", directory
    added = [o for r in kz.get("resources") or [] for o in load_docs(directory / r)]
    # A component's objects carry their namespace: an overlay outside k8s/ adding
    # the component does not apply the base's namespace transformer to them.
    assert all(o["metadata"].get("namespace") for o in added), f"{directory}: namespace"
    objs = objs + added
    return _patch(directory, kz, objs)


def _patch(directory: Path, kz: Obj, objs: list[Obj]) -> list[Obj]:
    for patch in kz.get("patches") or []:
        body = yaml.safe_load(patch["patch"])
        assert body.get("$patch") == "delete", f"{directory}: only delete patches are modelled"
        want = (patch["target"]["kind"], patch["target"]["name"])
        before = len(objs)
        objs = [o for o in objs if _key(o) != want]
        assert len(objs) == before - 1, f"{directory}: patch target {want} not found"
    return objs


def _finish(directory: Path, kz: Obj, objs: list[Obj]) -> list[Obj]:
    for gen, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for g in kz.get(gen, []):
            assert kz.get("generatorOptions", {}).get("disableNameSuffixHash"), directory
            files = {Path(f).name: (directory / f).read_text() for f in g["files"]}
            field = "data" if kind == "ConfigMap" else "stringData"
            objs.append({"apiVersion": "v1", "kind": kind, "metadata": {"name": g["name"]},
                         field: files})  # fmt: skip
    namespace = kz.get("namespace")
    for o in objs:
        if namespace and o["kind"] != "Namespace":
            o.setdefault("metadata", {})["namespace"] = namespace
    for image in kz.get("images", []):
        for c in containers(objs):
            name, _, _tag = c["image"].partition(":")
            if name == image["name"]:
                c["image"] = f"{image.get('newName', name)}:{image.get('newTag', _tag)}"
    return objs


def pod_spec(obj: Obj) -> Obj | None:
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def containers(objs: list[Obj]) -> Iterator[Obj]:
    for o in objs:
        spec = pod_spec(o)
        if spec:
            yield from spec.get("containers", [])
            yield from spec.get("initContainers", [])


def all_objects() -> list[tuple[Path, Obj]]:
    """Every object of every kustomization, each once (by kind/name/namespace)."""
    seen: dict[tuple[str, str, str], tuple[Path, Obj]] = {}
    for d, comps in VARIANTS:
        for o in build(d, comps):
            key = (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace", ""))
            seen.setdefault(key, (d, o))
    for path in STANDALONE:
        for o in load_docs(path):
            seen.setdefault((o["kind"], o["metadata"]["name"], "standalone"), (path, o))
    return list(seen.values())


def find(objs: list[Obj], kind: str, name: str) -> Obj:
    for o in objs:
        if _key(o) == (kind, name):
            return o
    raise KeyError((kind, name))


def env_of(container: Obj, objs: list[Obj]) -> dict[str, str | None]:
    """A container's environment: envFrom ConfigMaps/Secrets (values), then env."""
    out: dict[str, str | None] = {}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            out.update(find(objs, "ConfigMap", src["configMapRef"]["name"])["data"])
        if "secretRef" in src:
            secret = find(objs, "Secret", src["secretRef"]["name"])
            out.update(secret.get("stringData", {}))
            out.update(dict.fromkeys(secret.get("data", {})))
    for e in container.get("env", []):
        out[e["name"]] = e.get("value")
    return out
