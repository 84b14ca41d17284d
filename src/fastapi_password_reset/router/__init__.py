"""Router factories; applications reach them through `FastAPIUsers`."""

from fastapi_password_reset.router.common import ErrorCode

__all__ = ["ErrorCode"]
