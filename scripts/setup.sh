#!/usr/bin/env bash
# Set up everything the hub needs on a fresh Debian machine: system packages, a
# virtualenv with the pinned Python dependencies, and the hub itself.
#   scripts/setup.sh demo   what `hub demo` needs (fonts, zbar, ffmpeg, espeak-ng)
#   scripts/setup.sh test   plus the test servers and tools (Redis, PostgreSQL, RabbitMQ, chromium, poppler)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-demo}

pkgs="fonts-wqy-microhei libzbar0 ffmpeg espeak-ng"
if [ "$profile" = test ]; then
  pkgs="$pkgs redis-server postgresql rabbitmq-server poppler-utils chromium"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.hub-installed-$profile
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python dependencies ($profile)"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  if [ "$profile" = test ]; then extra='.[test]'; else extra='.'; fi
  .venv/bin/python -m pip install -q -e "$extra" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import hub, wechatpy, dramatiq, pika, boto3, tencentcloud.sms.v20210111.sms_client" >/dev/null
  touch "$stamp"
fi
