"""The Salesforce view of the emulator: schema-backed sObjects, describe, Metadata and Tooling APIs."""

__all__: list[str] = []  # its modules are imported by name (territory.emulator.salesforce.<module>)
