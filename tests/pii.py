"""Personal-data keys for tests: fixed, so that a test can open what the service sealed."""

from __future__ import annotations

import base64

from services.intake.pii.domain.keys import PiiKeys

MASTER_KEY = bytes(range(32))
HASH_KEY = bytes(range(100, 132))
KEYS = PiiKeys.of(MASTER_KEY, HASH_KEY)
SETTINGS = {
    "pii_master_key": base64.b64encode(MASTER_KEY).decode(),
    "pii_hash_key": base64.b64encode(HASH_KEY).decode(),
}
