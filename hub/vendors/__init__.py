"""Clients of outside services shared by several parts of the hub (Tencent Cloud: SMS and TTS).

Why a layer of its own: a vendor's SDK quirks (signatures, transport errors,
logging) are learnt once and used by whoever needs the vendor — a channel
(SMS) and a renderer (the video's narration) alike — so neither imports the
other.
"""
