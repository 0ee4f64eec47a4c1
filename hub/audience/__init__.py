"""The audience of bulk messages: who gets a message, and what became of it for each number (issue 16).

``subscribers`` (import, validation, encryption, opt-out), ``expand`` (a delivery
into its recipients, once), ``recipients`` (the recipient ledger and its states),
``fanout`` and ``engine`` (sending through a channel's ``BulkSender``, and the
outcome the delivery engine acts on), ``reports`` (delivery reports applied),
``quiet`` and ``limits``, ``direct`` (one-recipient notices) and ``replies``
(upstream SMS). A channel only sends one batch and reads its vendor's codes
(``hub.channels.sms``); a second bulk channel reuses this package unchanged.
"""
