"""The grading seed: which inputs hypothesis draws for each check.

    no course secret -> "public": hypothesis's derandomized seed, which depends on the
                        check alone, so anyone holding the public judges can replay it
    a course secret  -> per check, HMAC-SHA256(secret, the check's node id): official
                        grading (batch, Gradescope, CI) draws inputs no student can
                        record in advance, and every submission of one run meets the same

The secret comes from ``--secret-file``, else the file named by GRADER_SECRET_FILE, else
GRADER_SECRET. Reports carry only its fingerprint; the secret itself stays in this
(trusted) process: workers get a whitelisted environment and never see the file.
Torch-free, so that the batch coordinator can compute the fingerprint cheaply.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_ENV = "GRADER_SECRET"
SECRET_FILE_ENV = "GRADER_SECRET_FILE"
PUBLIC = "public"
# A fingerprint is 48 bits of a hash of the secret: a short secret could be found from it
# by trying candidates, so a secret has at least this many characters.
MIN_SECRET_CHARS = 16
FINGERPRINT_HEX = 12


class SecretError(ValueError):
    """The course secret given cannot be used (the message says why)."""


@dataclass(frozen=True)
class GradingSeed:
    """The seed of one grading run: public (no secret) or derived from a course secret."""

    secret: bytes = field(default=b"", repr=False)  # never printed, never in a report

    @property
    def fingerprint(self) -> str:
        """What a report records: "public", or 12 hex digits that name the secret."""
        if not self.secret:
            return PUBLIC
        return hashlib.sha256(b"fingerprint" + self.secret).hexdigest()[:FINGERPRINT_HEX]

    def for_check(self, identity: str) -> int | None:
        """Hypothesis's seed for the check ``identity`` (its pytest node id); None for the
        public seed, which leaves hypothesis's derandomized one in place."""
        if not self.secret:
            return None
        digest = hmac.new(self.secret, identity.encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:16], "big")

    def apply(self, test: Callable[..., Any], identity: str) -> None:
        """Seed the hypothesis test ``test`` for this run. Always set, the public seed
        included: a judge module stays imported across gradings in one process."""
        if getattr(test, "hypothesis", None) is None:
            return  # not a property check: nothing is drawn
        from hypothesis import seed

        seed(self.for_check(identity))(test)

    def describe(self) -> str:
        """One line for the person grading: which inputs this run draws."""
        if not self.secret:
            return ("Inputs: the public seed (anyone with the checks meets the same inputs; "
                    "official grading may draw others).")
        return f"Inputs: the course seed {self.fingerprint} (from the course secret)."


PUBLIC_SEED = GradingSeed()


def load_seed(secret_file: Path | None = None, environ: Mapping[str, str] = os.environ) -> GradingSeed:
    """The run's seed: from ``secret_file``, else GRADER_SECRET_FILE, else GRADER_SECRET;
    public when none is set (an empty variable counts as unset, as GitHub gives a workflow
    whose secret is missing)."""
    path = secret_path(secret_file, environ)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretError(f"cannot read the secret file {path}: {exc}") from None
        return seed_from_text(text, f"the secret file {path}")
    text = environ.get(SECRET_ENV, "")
    return seed_from_text(text, SECRET_ENV) if text.strip() else PUBLIC_SEED


def secret_path(secret_file: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The secret file this run reads, if any: to be hidden from the workers too."""
    if secret_file is not None:
        return secret_file
    return Path(environ[SECRET_FILE_ENV]) if environ.get(SECRET_FILE_ENV) else None


def seed_from_text(text: str, where: str) -> GradingSeed:
    """The seed of a secret's text (surrounding whitespace and newlines dropped)."""
    secret = text.strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretError(
            f"{where} holds {len(secret)} characters; a course secret needs at least "
            f'{MIN_SECRET_CHARS} (make one: python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return GradingSeed(secret.encode("utf-8"))
