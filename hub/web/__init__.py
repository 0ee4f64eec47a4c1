"""The web app: editor console, public portal, TV pickup, JSON API, metrics and callbacks (docs/web.md)."""
