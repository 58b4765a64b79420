"""The Salesforce view of the emulator: schema-backed sObjects, describe, Metadata and Tooling APIs."""
