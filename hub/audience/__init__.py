"""The SMS audience beyond bulk pushes: one-recipient notices (``direct``) and citizens' replies (``replies``)."""
