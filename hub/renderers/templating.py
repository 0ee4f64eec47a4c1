"""The Jinja2 environment of the renditions: autoescape on for every template, strict undefined.

Editor text is never marked safe: templates print record fields through
autoescape, and the only ``Markup`` that reaches a template is HTML this package
built itself from escaped parts (e.g. the QR SVG path).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.renderers.text import clean
from hub.settings import get_settings
from hub.timeutil import to_local


def _local_date(value: object, fmt: str = "%Y-%m-%d") -> str:
    from datetime import date, datetime

    if isinstance(value, datetime):
        return to_local(value).strftime(fmt)
    if isinstance(value, date):
        return value.strftime(fmt)
    return ""


@lru_cache(maxsize=4)
def _env(root: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        autoescape=True,  # every template, .html and .xml alike
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["clean"] = clean
    env.filters["local_date"] = _local_date
    from hub.renderers.web import safe_href

    env.filters["safe_href"] = safe_href  # the one link filter, shared with the live portal's templates
    return env


def environment() -> Environment:
    """The environment over ``templates/renditions`` (HUB_TEMPLATES_DIR overrides the root)."""
    return _env(str(Path(get_settings().templates_dir) / "renditions"))


def render_template(name: str, **values: object) -> str:
    return environment().get_template(name).render(**values)
