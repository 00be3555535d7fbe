"""Two-factor login with time-based one-time passwords (RFC 6238, pyotp) and recovery codes.

Admins, approvers and the security and audit administrators must use it (TOTP_ROLES); anyone
else may turn it on. A code is good for its 30-second step and one step either side (clocks of
phones drift), and only once: the step last used is kept, so a code seen over a shoulder or in a
proxy log cannot be played again. Recovery codes are random, shown once and stored hashed.
"""
import hashlib
import hmac
import secrets
import time

import pyotp
import segno

from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow

ISSUER = "人大短信平台"
RECOVERY_CODES = 8
DRIFT_STEPS = 1


def _hash_code(code):
    # Recovery codes carry 50 random bits each and the account locks after a few failures: a fast
    # hash is enough (there is no dictionary to guess from).
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _normalise(code):
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def pending_secret(user):
    """The secret the enrolment page shows: made once and kept until a code confirms it, so a
    reload shows the same QR code."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.totp_last_step = None
        db.session.commit()
    return user.totp_secret


def provisioning_uri(user):
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg_data_uri(uri):
    """The otpauth URI as a QR code image for an <img src>, drawn on the server (segno)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret, code, now=None):
    """The time step `code` belongs to (within the drift allowed), else None."""
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = totp.timecode(_datetime(now))
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _datetime(seconds):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


class CodeRefused(ValueError):
    """reason: "wrong" or "reused"."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def check_code(user, code, now=None):
    """Accept a TOTP code once (or a recovery code, which is then used up). Returns "totp" or
    "recovery"; raises CodeRefused. The caller commits (with the login it completes)."""
    if user.totp_secret is None:
        raise CodeRefused("wrong")
    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            raise CodeRefused("reused")
        user.totp_last_step = step
        return "totp"
    if user.totp_enrolled:
        digest = _hash_code(code)
        hashes = list(user.recovery_code_hashes or [])
        for stored in hashes:
            if hmac.compare_digest(stored, digest):
                hashes.remove(stored)
                user.recovery_code_hashes = hashes
                record("auth.recovery_code_used", target=user, actor=user, left=len(hashes))
                return "recovery"
    raise CodeRefused("wrong")


def new_recovery_codes(user):
    """Replace the user's recovery codes; returns the plaintexts (shown once, never stored)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread (0/o, 1/l/i)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    user.recovery_code_hashes = [_hash_code(c) for c in codes]
    return codes


def confirm_enrolment(user, code, now=None):
    """The first code from the authenticator app: the secret now counts. Returns the recovery
    codes to show once."""
    if user.totp_confirmed_at is not None:
        raise CodeRefused("wrong")
    check_code(user, code, now)
    user.totp_confirmed_at = utcnow()
    codes = new_recovery_codes(user)
    record("auth.totp_enrol", target=user, actor=user)
    db.session.commit()
    return codes


def reissue(user, actor="cli"):
    """A new secret, in force at once (the operator hands over its URI), with new recovery codes;
    the old secret and codes stop working. Returns (otpauth URI, recovery codes)."""
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = utcnow()
    user.totp_last_step = None
    codes = new_recovery_codes(user)
    record("auth.totp_reissue", target=user, actor=actor, username=user.username)
    db.session.commit()
    return provisioning_uri(user), codes


def reset(user, actor):
    """Forget the user's second factor: they enrol again at their next login."""
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    user.recovery_code_hashes = []
    record("auth.totp_reset", target=user, actor=actor, username=user.username)
    db.session.commit()
