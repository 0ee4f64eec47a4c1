"""Channel adapters, one module per channel, each one declaration (``hub.channels.base.ChannelBase``).

The registry and everything derived from it is ``hub.channels.registry``
(``CHANNELS``, ``get_channel``, labels, link and QR channels...). This package
file imports nothing, so that ``hub.channels.base``, ``hub.channels.http`` and
the vendor clients can be imported without loading every adapter.
"""
