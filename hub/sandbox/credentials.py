"""What the sandbox accepts, read from the same environment variables the adapters use."""

from __future__ import annotations

import os

from hub.config import get_config


def credentials_from_env() -> dict[str, dict[str, str]]:
    """``{"wechat": {appid: secret}, "weibo": {token: account}, "weibo_apps": {app_key: app_secret},
    "tencent": {secret_id: secret_key}}``.

    Accounts whose env vars are unset are left out (the sandbox then rejects them like the real API).
    """
    creds: dict[str, dict[str, str]] = {"wechat": {}, "weibo": {}, "tencent": {}}
    for name, account in get_config().accounts.items():
        if account.channel == "wechat":
            secret = os.environ.get(str(account.get("secret_env", "")))
            if secret:
                creds["wechat"][str(account.get("app_id"))] = secret
        elif account.channel == "weibo":
            token = os.environ.get(str(account.get("access_token_env", "")))
            if token:
                creds["weibo"][token] = name
            app_secret = os.environ.get(str(account.get("app_secret_env", "")))
            if account.get("app_key") and app_secret:  # the app behind the OAuth re-authorisation
                creds.setdefault("weibo_apps", {})[str(account.get("app_key"))] = app_secret
        elif account.channel in ("sms", "tts"):
            sid = os.environ.get(str(account.get("secret_id_env", "")))
            skey = os.environ.get(str(account.get("secret_key_env", "")))
            if sid and skey:
                creds["tencent"][sid] = skey
    return creds
