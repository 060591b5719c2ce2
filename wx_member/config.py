"""Deployment configuration, read from the environment (a `.env` file may set it).

Only deployment facts and secrets live here. Rules that operators change (sign-up points,
referral points, ...) live in the database, see `platform/settings.py`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

# Where the code lives: templates_msg/ and migrations/ are found next to it (a checkout, or
# an editable install of one). What an installation keeps (its SQLite database, the demo's)
# lives in its instance directory instead, see `instance_dir`.
REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_API_BASE = "https://api.weixin.qq.com/"
REAL_MP_BASE = "https://mp.weixin.qq.com/"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _whole_env(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def instance_dir() -> Path:
    """`WX_MEMBER_INSTANCE` if set, else `instance/` under the working directory: never
    relative to where the code is installed."""
    return Path(_env("WX_MEMBER_INSTANCE") or "instance").expanduser().absolute()


def default_database_url() -> str:
    return f"sqlite:///{instance_dir() / 'wx_member.db'}"


@dataclass(frozen=True)
class Config:
    appid: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""  # empty → plain mode
    api_base: str = REAL_API_BASE
    mp_base: str = REAL_MP_BASE  # where showqrcode lives (mp.weixin.qq.com in production)
    database_url: str = field(default_factory=default_database_url)
    timezone: str = "Asia/Shanghai"
    programme_name: str = "会员俱乐部"
    max_body_bytes: int = 64 * 1024  # WeChat events are a few hundred bytes
    # WeChat Pay (payments/orders.py): merchant id, v2 API key, APIv3 key, and the path of
    # the platform certificate (PEM) v3 notifies are signed with. Empty → notifies refused.
    mch_id: str = ""
    pay_api_key: str = ""
    pay_apiv3_key: str = ""
    pay_platform_cert: str = ""
    # WeChat Pay merchant API v3 (wechat/pay_client.py: JSAPI orders, refunds): the
    # merchant private key (a PEM path, never its content), its certificate serial, the
    # WeChat Pay public key (PEM path) and its id when the merchant uses that mode instead
    # of platform certificates, where the API is (the sandbox in tests) and the public URL
    # of /pay/v3/notify that WeChat Pay posts to. No private key → no orders are created.
    pay_private_key: str = ""
    pay_cert_serial: str = ""
    pay_public_key: str = ""
    pay_public_key_id: str = ""
    pay_api_base: str = "https://api.mch.weixin.qq.com/"
    pay_notify_url: str = ""
    # Pushes (pushes/deliveries.py): the message template id of each push kind in this
    # account (WX_TEMPLATE_<KIND>, e.g. WX_TEMPLATE_POINTS_EXPIRY), the mini-program appid
    # for template links that open a page, and the openids a dry run sends to.
    template_ids: dict[str, str] = field(default_factory=dict)
    mini_appid: str = ""
    push_test_openids: tuple[str, ...] = ()
    # The shop system's bearer token for /shop/... (order shipped / delivered). Empty → the
    # shop API answers 503.
    shop_api_key: str = ""
    # WX_MEMBER_SECRET_KEY signs the console's session cookies and CSRF tokens and the
    # API's member tokens (empty → both answer 503); whether the console cookie is HTTPS-only.
    secret_key: str = ""
    cookie_secure: bool = True
    # Deployment (docs/deploy.md): Redis for the shared access token across hosts; empty →
    # the database keeps it (one host, or several without Redis).
    # Mini-program API (web/api/): the mini-program's own secret (jscode2session and its
    # access token for wxa/ calls), the key that signs members' access tokens and member
    # codes (32+ characters; empty → the API answers 503), the cashier's shared secret,
    # token and member-code lifetimes, the login and redeem rate limits, and where rate limits are
    # counted (REDIS_URL: shared by every process; empty: each process counts alone).
    mini_secret: str = ""
    cashier_api_key: str = ""
    api_token_ttl: int = 7200
    member_code_ttl: int = 60
    login_rate_limit: str = "10/minute"
    redeem_rate_limit: str = "10/minute"  # per member: POST /api/me/redemptions
    pay_rate_limit: str = "10/minute"  # per member: POST /api/me/store-payments
    redis_url: str = ""
    templates_dir: Path = field(default=REPO_ROOT / "templates_msg")
    migrations_dir: Path = field(default=REPO_ROOT / "migrations")
    # WX_FORWARDED_ALLOW_IPS (as gunicorn reads it): the proxies whose X-Forwarded-For is
    # believed (addresses or networks, comma-separated; "*" any). From any other peer the
    # header is ignored, so a client cannot pick the address rate limits count it under.
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    # A MySQL/MariaDB replica of DATABASE_URL for reads that may be stale (the dashboard's
    # figures, see wx_member/replica.py), used while its lag is at most `replica_max_lag`
    # seconds; empty → every read from the primary.
    database_replica_url: str = ""
    replica_max_lag: int = 30

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def pay_appids(self) -> tuple[str, ...]:
        """The appids a WeChat Pay notify may name: the Official Account's (payments in its
        pages) and the mini-program's (payments inside it). Any other is not ours."""
        return tuple(a for a in (self.appid, self.mini_appid) if a)

    @property
    def pay_merchant(self) -> bool:
        """Whether this deployment creates WeChat Pay orders (merchant API v3)."""
        return bool(self.mch_id and self.pay_apiv3_key and self.pay_private_key
                    and self.pay_cert_serial and self.pay_notify_url)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    def check_replica(self) -> None:
        """Raises ValueError when the replica settings cannot work: a replica is a MySQL or
        MariaDB server replicating from a MySQL/MariaDB primary (SQLite has no replicas)."""
        if self.replica_max_lag < 0:
            raise ValueError("WX_REPLICA_MAX_LAG must be a whole number of seconds, 0 or more")
        if not self.database_replica_url:
            return
        if not self.database_replica_url.startswith("mysql"):
            raise ValueError("WX_DATABASE_REPLICA_URL must be a MySQL/MariaDB URL "
                             "(mysql+pymysql://...); SQLite has no replicas")
        if not self.database_url.startswith("mysql"):
            raise ValueError("WX_DATABASE_REPLICA_URL is set but DATABASE_URL is not MySQL/"
                             "MariaDB: a replica needs a MySQL/MariaDB primary")

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, dotenv: bool = True) -> "Config":
        if dotenv:  # the working directory's .env; the environment wins over it
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)
        api_base = _env("WX_API_BASE", REAL_API_BASE)
        if not api_base.endswith("/"):
            api_base += "/"
        # The real API serves QR images from another host; anything else (the sandbox)
        # serves them itself.
        default_mp = REAL_MP_BASE if api_base == REAL_API_BASE else api_base
        cfg = cls(
            appid=_env("WX_APPID"),
            secret=_env("WX_SECRET"),
            token=_env("WX_TOKEN"),
            encoding_aes_key=_env("WX_ENCODING_AES_KEY"),
            api_base=api_base,
            mp_base=_env("WX_MP_BASE", default_mp),
            database_url=_env("DATABASE_URL") or default_database_url(),
            timezone=_env("WX_MEMBER_TZ", "Asia/Shanghai"),
            programme_name=_env("WX_MEMBER_PROGRAMME", "会员俱乐部"),
            mch_id=_env("WXPAY_MCH_ID"),
            pay_api_key=_env("WXPAY_API_KEY"),
            pay_apiv3_key=_env("WXPAY_APIV3_KEY"),
            pay_platform_cert=_env("WXPAY_PLATFORM_CERT"),
            pay_private_key=_env("WXPAY_PRIVATE_KEY"),
            pay_cert_serial=_env("WXPAY_CERT_SERIAL"),
            pay_public_key=_env("WXPAY_PUBLIC_KEY"),
            pay_public_key_id=_env("WXPAY_PUBLIC_KEY_ID"),
            pay_api_base=_env("WXPAY_API_BASE", "https://api.mch.weixin.qq.com/"),
            pay_notify_url=_env("WXPAY_NOTIFY_URL"),
            template_ids={name.removeprefix("WX_TEMPLATE_").lower(): value.strip()
                          for name, value in os.environ.items()
                          if name.startswith("WX_TEMPLATE_") and value.strip()},
            mini_appid=_env("WX_MINI_APPID"),
            push_test_openids=tuple(o for o in _env("WX_PUSH_TEST_OPENIDS").split(",") if o),
            shop_api_key=_env("WX_SHOP_API_KEY"),
            secret_key=_env("WX_MEMBER_SECRET_KEY"),
            cookie_secure=_env("WX_MEMBER_COOKIE_SECURE", "1") != "0",
            mini_secret=_env("WX_MINI_SECRET"),
            cashier_api_key=_env("WX_CASHIER_API_KEY"),
            api_token_ttl=_whole_env("WX_API_TOKEN_TTL", 7200),
            member_code_ttl=_whole_env("WX_MEMBER_CODE_TTL", 60),
            login_rate_limit=_env("WX_API_LOGIN_LIMIT", "10/minute"),
            redeem_rate_limit=_env("WX_API_REDEEM_LIMIT", "10/minute"),
            pay_rate_limit=_env("WX_API_PAY_LIMIT", "10/minute"),
            redis_url=_env("REDIS_URL"),
            forwarded_allow_ips=tuple(a.strip() for a in
                                      _env("WX_FORWARDED_ALLOW_IPS", "127.0.0.1").split(",")
                                      if a.strip()),
            database_replica_url=_env("WX_DATABASE_REPLICA_URL"),
            replica_max_lag=_whole_env("WX_REPLICA_MAX_LAG", 30),
        )
        cfg.check_replica()
        cfg.tz  # fail at start-up on an unknown zone, not at the first check-in
        if cfg.encoding_aes_key and len(cfg.encoding_aes_key) != 43:
            raise ValueError("WX_ENCODING_AES_KEY must be 43 characters (or empty for plain mode)")
        if cfg.secret_key and len(cfg.secret_key) < 32:
            raise ValueError("WX_MEMBER_SECRET_KEY must be at least 32 characters (HS256 key)")
        if cfg.pay_apiv3_key and len(cfg.pay_apiv3_key.encode()) != 32:
            raise ValueError("WXPAY_APIV3_KEY must be 32 bytes (AES-256-GCM)")
        return cfg
