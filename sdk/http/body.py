"""Reading a response's JSON body once, however many checks look at it."""

from __future__ import annotations

import weakref
from typing import Any

import httpx

__all__ = ["response_json"]

_parsed: weakref.WeakKeyDictionary[httpx.Response, Any] = weakref.WeakKeyDictionary()


def response_json(response: httpx.Response) -> Any:
    """The JSON value of ``response``'s body; ``ValueError`` if the body is not JSON.

    An auth check (``Auth.is_auth_failure``), an error classifier and the client itself may
    each need the body of the same response; it is parsed the first time and remembered for
    as long as the response lives. Use it instead of ``response.json()``.
    """
    try:
        return _parsed[response]
    except KeyError:
        pass
    body = response.json()
    _parsed[response] = body
    return body
