"""Tests of `fastapi_password_reset.contrib.fastapi_users` against real fastapi-users 15.

They run only in the fastapi-users virtual environment (``.venv-fastapi-users``).
"""
