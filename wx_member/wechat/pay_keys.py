"""The keys that sign WeChat Pay's answers and notifies (API v3), found by the
`Wechatpay-Serial` header, in the modes WeChat Pay offers:

- the WeChat Pay public key (`WXPAY_PUBLIC_KEY` PEM path, `WXPAY_PUBLIC_KEY_ID`: the serial
  is `PUB_KEY_ID_...`): one key, nothing to download;
- platform certificates downloaded from `GET /v3/certificates` (each AEAD_AES_256_GCM under
  the APIv3 key), kept in memory by serial, refreshed before they expire and every
  `REFRESH_EVERY`, and refetched (at most once per `MISS_COOLDOWN`) when a notify names a
  serial we do not hold: during a rotation WeChat signs with the new certificate while the
  old one is still valid, so several are held at once;
- a platform certificate file (`WXPAY_PLATFORM_CERT`), for a deployment that installs it by
  hand (replacing the file is picked up without a restart).

Nothing here touches the database; fetching is the caller's function (the merchant client).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

log = logging.getLogger(__name__)

REFRESH_EVERY = 12 * 3600  # seconds; WeChat Pay advises refreshing at least this often
REFRESH_BEFORE_EXPIRY = timedelta(days=1)
MISS_COOLDOWN = 60  # seconds between refetches caused by an unknown serial


@dataclass(frozen=True)
class PlatformCertificate:
    serial: str  # upper-case hex, as in Wechatpay-Serial
    public_key: RSAPublicKey
    not_after: datetime  # aware UTC

    @classmethod
    def from_pem(cls, pem: bytes) -> PlatformCertificate:
        cert = x509.load_pem_x509_certificate(pem)
        return cls(format(cert.serial_number, "X"), cert.public_key(),
                   cert.not_valid_after_utc)


Fetch = Callable[[], Iterable[PlatformCertificate]]


class PlatformKeys:
    def __init__(self, *, public_key_pem: bytes | None = None, public_key_id: str = "",
                 cert_path: str = "", fetch: Fetch | None = None,
                 clock: Callable[[], float] = time.time):
        self._static: dict[str, RSAPublicKey] = {}
        if public_key_pem:
            if not public_key_id:
                raise ValueError("WXPAY_PUBLIC_KEY needs WXPAY_PUBLIC_KEY_ID")
            key = serialization.load_pem_public_key(public_key_pem)
            if not isinstance(key, RSAPublicKey):
                raise ValueError("WXPAY_PUBLIC_KEY is not an RSA public key")
            self._static[public_key_id] = key
        self._cert_path = cert_path
        self._file: tuple[int, PlatformCertificate] | None = None
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, PlatformCertificate] = {}
        self._fetched_at: float | None = None
        self._missed_at = float("-inf")

    @property
    def configured(self) -> bool:
        return bool(self._static or self._cert_path or self._fetch)

    def serials(self) -> list[str]:
        """The serials held now (for logs and tests)."""
        with self._lock:
            return sorted(set(self._static) | set(self._certs))

    def key_for(self, serial: str) -> RSAPublicKey | None:
        """The key of `serial`, or None when WeChat Pay never gave it to us (or it expired)."""
        serial = serial.strip()
        if serial in self._static:
            return self._static[serial]
        from_file = self._from_file()
        if from_file is not None and from_file.serial == serial.upper():
            return from_file.public_key
        if self._fetch is None:
            return None
        with self._lock:
            now = self._clock()
            if self._stale(now):
                self._refresh(now)
            elif serial.upper() not in self._certs and now - self._missed_at >= MISS_COOLDOWN:
                # A rotation: WeChat signs with a certificate newer than our last download.
                # A forged serial may not make us download on every request.
                self._missed_at = now
                self._refresh(now)
            cert = self._certs.get(serial.upper())
            if cert is None or cert.not_after <= _aware(now):
                return None
            return cert.public_key

    def refresh(self) -> list[str]:
        """Download the certificates now (the scheduler's periodic refresh); their serials."""
        if self._fetch is None:
            return self.serials()
        with self._lock:
            self._refresh(self._clock())
            return sorted(self._certs)

    def _stale(self, now: float) -> bool:
        if self._fetched_at is None or now - self._fetched_at >= REFRESH_EVERY:
            return True
        latest = max((c.not_after for c in self._certs.values()), default=None)
        return latest is None or latest - _aware(now) <= REFRESH_BEFORE_EXPIRY

    def _refresh(self, now: float) -> None:
        try:
            fresh = {c.serial: c for c in self._fetch()}
        except Exception as exc:  # keep what we hold; the next call tries again
            log.warning("WeChat Pay platform certificates not refreshed: %s", exc)
            return
        current = _aware(now)
        # Keep certificates WeChat stopped listing while they are still valid: a notify
        # signed just before a rotation may arrive after it.
        kept = {s: c for s, c in self._certs.items() if s not in fresh and c.not_after > current}
        self._certs = {**kept, **{s: c for s, c in fresh.items() if c.not_after > current}}
        self._fetched_at = now
        log.info("WeChat Pay platform certificates: %s", ", ".join(sorted(self._certs)))

    def _from_file(self) -> PlatformCertificate | None:
        if not self._cert_path:
            return None
        mtime = os.stat(self._cert_path).st_mtime_ns
        if self._file is None or self._file[0] != mtime:
            with open(self._cert_path, "rb") as f:
                self._file = (mtime, PlatformCertificate.from_pem(f.read()))
        return self._file[1]


def _aware(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
