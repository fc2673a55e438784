"""The embedded platform's personal-data keys: generated once per data dir, kept there
(0600) beside the token secret, and passed to intake as PII_MASTER_KEY / PII_HASH_KEY.

Losing the master key file makes every complainant's identity unreadable; losing the hash
key makes re-imports file their rows again.  A production deployment sets both from its
secret store instead (then no file is written).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from pathlib import Path

from damrong.embedded.secret_files import load_or_create

FILES = {"PII_MASTER_KEY": "pii-master-key", "PII_HASH_KEY": "pii-hash-key"}


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def configured_pii_keys(env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """PII_MASTER_KEY and PII_HASH_KEY: the environment's, else the data dir's (created
    on first use)."""
    return {
        name: env.get(name) or load_or_create(data_dir / file, _new_key)
        for name, file in FILES.items()
    }
