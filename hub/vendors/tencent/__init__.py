"""Tencent Cloud: the SDK client both SMS and TTS use (``client``) and speech synthesis (``tts``)."""
