"""Adapters to other user-management libraries; each needs its own extra."""
