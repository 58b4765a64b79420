"""CRM access through the official clients; our vocabulary and error taxonomy."""

from territory.connector.base import CrmConnector
from territory.connector.errors import (
    CrmError,
    FatalCrmError,
    RetriableCrmError,
    SessionExpiredError,
    SkippableRecordError,
)
from territory.connector.records import (
    AccountRecord,
    ActivityRecord,
    ActivityRequest,
    ApiUsage,
    ChangeCursor,
    ChangePage,
    ObjectKind,
    OpportunityRecord,
    OwnerChange,
    OwnerRecord,
    SkippedRecord,
    WriteResult,
)

__all__ = [
    "AccountRecord",
    "ActivityRecord",
    "ActivityRequest",
    "ApiUsage",
    "ChangeCursor",
    "ChangePage",
    "CrmConnector",
    "CrmError",
    "FatalCrmError",
    "ObjectKind",
    "OpportunityRecord",
    "OwnerChange",
    "OwnerRecord",
    "RetriableCrmError",
    "SessionExpiredError",
    "SkippableRecordError",
    "SkippedRecord",
    "WriteResult",
]
