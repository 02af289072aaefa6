"""The Redis ACL users of k8s/redis/users.acl, for tests that log in as each role.

Passwords are the example ones of k8s/examples/secrets/secrets.example.yaml (users.acl holds
their SHA-256 hashes). The ACL key patterns allow the stream `articles` only.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACL_FILE = ROOT / "k8s" / "redis" / "users.acl"
SECRETS = ROOT / "k8s" / "examples" / "secrets" / "secrets.example.yaml"
STREAM, GROUP = "articles", "enrichment"
ACL_ARGS = ["--aclfile", str(ACL_FILE)]
#: A user only the tests have, to look at the results without borrowing a role's
#: rights (no role may read everything, which is the point).
TEST_ADMIN = ("testadmin", "test-admin-password")


def acl_args_with_test_admin(directory: Path) -> list[str]:
    """users.acl plus TEST_ADMIN, written to `directory`; server arguments to load it."""
    path = directory / "users-and-test-admin.acl"
    user, password = TEST_ADMIN
    path.write_text(ACL_FILE.read_text() + f"user {user} on >{password} ~* &* +@all\n")
    return ["--aclfile", str(path)]


def _passwords() -> dict[str, str]:
    out = {}
    for doc in yaml.safe_load_all(SECRETS.read_text()):
        data = doc.get("stringData", {})
        if "username" in data:
            out[data["username"]] = data["password"]
    return out


PASSWORDS = _passwords()


def login(role: str) -> dict[str, str]:
    """Settings fields for logging in as `role`."""
    return {"redis_username": role, "redis_password": PASSWORDS[role]}


def role_env(url: str, role: str, **more: str) -> dict[str, str]:
    """Environment variables for a CLI run as `role`."""
    return {"REDIS_URL": url, "REDIS_USERNAME": role, "REDIS_PASSWORD": PASSWORDS[role],
            "WORKER_STREAM": STREAM, "WORKER_GROUP": GROUP, **more}  # fmt: skip
