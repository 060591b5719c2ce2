"""Every answer under /api/ is JSON, errors included, in the shape of wx_member/web/errors.py:
{"code", "message", "errors"?}. This module is /api's mapping: domain errors (each
blueprint's handler, see common.blueprint) and HTTP errors (the app's handler) answer
through the shared table and shape; flask-smorest documents ErrorSchema.
"""
from __future__ import annotations

from wx_member.platform.errors import DomainError
from wx_member.web.errors import ErrorSchema, domain_error, http_error

__all__ = ["ErrorSchema", "NotConfigured", "domain_error", "http_error"]


class NotConfigured(DomainError):
    code = "API_NOT_CONFIGURED"
    user_message = "服务暂不可用，请稍后再试。"
