"""Local, wire-faithful stand-ins of the WeChat, Weibo and Tencent Cloud APIs (tests and the demo only)."""
