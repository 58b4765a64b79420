"""The emulator's data model: a schema registry that grows at run time and generic records."""

from territory.emulator.store.records import Audit, Change, Record, RecordStore
from territory.emulator.store.schema import FieldDef, ObjectDef, PicklistValue, Schema, SchemaError

__all__ = ["Audit", "Change", "FieldDef", "ObjectDef", "PicklistValue", "Record", "RecordStore", "Schema",
           "SchemaError"]
