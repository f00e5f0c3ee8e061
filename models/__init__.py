"""The domain: Tortoise models and the rules that act on them.

Nothing here imports from ``app`` or ``channels``.
"""
