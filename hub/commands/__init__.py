"""CLI command groups, one module per area, registered explicitly in ``hub.cli``."""
