"""The delivery engine: ledger, policy, deliver/reconcile/confirm, actors, brokers, sweeper, status."""
