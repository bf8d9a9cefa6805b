"""Error texts sent to clients, built the way ASP.NET Core builds them
(ErrorMessageHelper.BuildErrorMessage): the base text, plus
`` <Type>: <message>`` when the exception is a HubException or detailed
errors are on."""

from __future__ import annotations

from ..errors import HubException, error_type_name

__all__ = ["build_error_message"]


def build_error_message(message: str, exc: BaseException | None, detailed: bool) -> str:
    if exc is not None and (detailed or isinstance(exc, HubException)):
        return f"{message} {error_type_name(exc)}: {exc}"
    return message
