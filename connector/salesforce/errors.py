"""The one place where simple-salesforce and requests exceptions become our taxonomy.

::

    SalesforceExpiredSession (401)            -> SessionExpiredError (re-authenticate once)
    SalesforceRefusedRequest (403)
        REQUEST_LIMIT_EXCEEDED                -> FatalCrmError (daily API limit used up)
        INSUFFICIENT_ACCESS / other           -> FatalCrmError (name the object/permission)
    SalesforceMalformedRequest (400)
        UNABLE_TO_LOCK_ROW                    -> RetriableCrmError
        MALFORMED_QUERY, INVALID_FIELD, ...   -> FatalCrmError
    SalesforceResourceNotFound (404)
        ENTITY_IS_DELETED                     -> SkippableRecordError
        other                                 -> FatalCrmError
    SalesforceGeneralError (409/429/5xx)      -> RetriableCrmError (Retry-After honoured)
    SalesforceAuthenticationFailed            -> FatalCrmError (check credentials)
    requests SSLError                         -> FatalCrmError (certificate not trusted)
    requests ConnectionError/Timeout/...      -> RetriableCrmError
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from territory.connector.errors import (
    CrmError,
    FatalCrmError,
    RetriableCrmError,
    SessionExpiredError,
    SkippableRecordError,
)

CRM = "salesforce"
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"}
_SQL_HINT = "this is a bug in the agent's query or an unsupported org setup; report it with the message above"


def first_error(content: Any) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error body (a JSON list) or plain text."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        return item.get("errorCode") or item.get("statusCode"), str(item.get("message", ""))
    if isinstance(content, dict):
        return content.get("error") or content.get("errorCode"), str(content.get("error_description") or content.get("message", ""))
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
    return None, text[:300]


def translate_error(exc: BaseException, *, retry_after: float | None = None, what: str = "") -> CrmError:
    """Our error for a client exception raised while doing ``what`` (e.g. "query Account")."""
    if isinstance(exc, CrmError):
        return exc
    doing = f" while trying to {what}" if what else ""
    if isinstance(exc, SalesforceAuthenticationFailed):
        return FatalCrmError(
            f"Salesforce login failed{doing}: {exc.auth_message or exc.code}", crm=CRM, code=str(exc.code or ""),
            next_step="check SF_USERNAME, SF_PASSWORD + SF_SECURITY_TOKEN (or SF_CLIENT_ID + "
            "SF_PRIVATE_KEY_FILE) and SF_DOMAIN (login, test or your My Domain)",
        )
    if isinstance(exc, SalesforceError):
        return _from_salesforce(exc, retry_after, doing)
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalCrmError(
            f"TLS handshake with Salesforce failed{doing}: {exc}", crm=CRM, code="SSL_ERROR",
            next_step="check SF_INSTANCE_URL; for the built-in emulator set TERRITORY_CA_FILE to the CA file it wrote",
        )
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return FatalCrmError(f"bad Salesforce URL{doing}: {exc}", crm=CRM, next_step="fix SF_INSTANCE_URL")
    if isinstance(exc, requests.exceptions.RequestException):
        return RetriableCrmError(f"connection to Salesforce failed{doing}: {type(exc).__name__}", crm=CRM, retry_after=retry_after)
    return FatalCrmError(f"unexpected error talking to Salesforce{doing}: {type(exc).__name__}: {exc}", crm=CRM)


def _from_salesforce(exc: SalesforceError, retry_after: float | None, doing: str) -> CrmError:
    action = doing.removeprefix(" while trying to ") or "do this"
    status = int(exc.status) if exc.status else None
    code, message = first_error(exc.content)
    kw: dict[str, Any] = {"crm": CRM, "status": status, "code": code}
    if isinstance(exc, SalesforceExpiredSession) or status == 401:
        return SessionExpiredError(f"Salesforce session expired or invalid{doing}: {message}", **kw)
    if isinstance(exc, SalesforceRefusedRequest):
        if code == "REQUEST_LIMIT_EXCEEDED":
            return FatalCrmError(
                f"the org's daily API request limit is used up{doing}: {message}", **kw,
                next_step="wait until calls free up (rolling 24 h) or ask Salesforce to raise the limit; "
                "`territory doctor` shows usage",
            )
        return FatalCrmError(
            f"Salesforce refused access{doing}: {message}", **kw,
            next_step=f"grant the integration user the permission to {action} (object permissions and "
            "field-level security, e.g. via a permission set)",
        )
    if isinstance(exc, SalesforceMalformedRequest):
        if code in TRANSIENT_CODES:
            return RetriableCrmError(f"Salesforce record busy{doing}: {message}", retry_after=retry_after, **kw)
        return FatalCrmError(f"Salesforce rejected the request{doing}: {message}", **kw, next_step=_SQL_HINT)
    if isinstance(exc, SalesforceResourceNotFound):
        if code == "ENTITY_IS_DELETED":
            return SkippableRecordError(f"record is deleted{doing}: {message}", **kw)
        return FatalCrmError(
            f"Salesforce resource not found{doing}: {message}", **kw,
            next_step="check SF_INSTANCE_URL and SF_API_VERSION",
        )
    if status is not None and 300 <= status < 400:
        return FatalCrmError(f"Salesforce returned {status}{doing}: {message}", **kw, next_step=_SQL_HINT)
    return RetriableCrmError(f"Salesforce is temporarily unavailable{doing}: {message}", retry_after=retry_after, **kw)


def translate_metadata_error(exc: BaseException, what: str = "") -> CrmError:
    """Our error for what ``sf.mdapi`` (zeep) raises: a SOAP ``Fault`` or the plain
    ``Exception("\\nName: (CODE, message), ")`` simple-salesforce makes of a failed SaveResult."""
    doing = f" while trying to {what}" if what else ""
    fault_code = getattr(exc, "code", None)
    if type(exc).__name__ == "Fault":
        code = str(fault_code or "").removeprefix("sf:")
        if code == "INVALID_SESSION_ID":
            return SessionExpiredError(f"Salesforce session expired or invalid{doing}", crm=CRM, status=401, code=code)
        return FatalCrmError(f"Salesforce Metadata API fault{doing}: {getattr(exc, 'message', exc)}", crm=CRM, code=code,
                             next_step="check that the integration user has 'Modify Metadata' / 'Customize Application'")
    text = str(exc).strip()
    code = text.split("(", 1)[1].split(",", 1)[0] if "(" in text else None
    return FatalCrmError(f"Salesforce Metadata API refused{doing}: {text}", crm=CRM, code=code,
                         next_step="check the message; `territory install --dry-run` shows what install would create")
