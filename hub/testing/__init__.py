"""Test-only hooks compiled into the product (crash points); no-ops unless a test sets them."""
