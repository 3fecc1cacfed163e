"""Recovery codes kept as salted SHA-256 digests, never as typed (OWASP ASVS V2.6.2,
V2.6.3): a copy of the database lets no one in, and 80 random bits a code put a
digest out of reach of guessing, where django-otp's own codes are 40 bits kept in
clear."""

import hashlib
import secrets
from base64 import b32encode

CODE_BYTES = 10  # 80 bits: sixteen characters, shown in groups of four
SALT_BYTES = 16
GROUP = 4


def recovery_code_new() -> str:
    """A fresh code as people see it: "abcd-efgh-ijkl-mnop"."""
    while True:
        code = b32encode(secrets.token_bytes(CODE_BYTES)).decode().lower()
        # Text of digits alone is read as an authenticator app's code.
        if not code.isdigit():
            return "-".join(code[at : at + GROUP] for at in range(0, len(code), GROUP))


def recovery_code_typed(code: str) -> str:
    """A code as typed, in the form its digest is made of: spaces, dashes and case do
    not matter."""
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_digest(code: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + recovery_code_typed(code).encode()).digest()


def recovery_code_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)
