"""The application layer: what a person can do to a record's deliveries, in one place.

Why: the CLI (``hub/commands``) and the web console (``hub/web``) each reached into
``hub.queue`` internals (``ledger.retry``, ``runtime.kick``, ``actors.hint``) and wrote
their own audit rows, so one publish left two rows and the two front ends drifted.
Each function here opens its own short transaction, checks the rules, writes its
audit row exactly once and wakes the engine after the commit; the front ends parse,
call, and print.

``hub.app.deliveries``: publish (now or 定时), publish_now, cancel_schedule, retry,
cancel, mark_delivered, events. ``hub.app.lifecycle``: withdraw and correct.
"""
