"""The HubSpot view of the emulator: properties and property groups, contacts."""

__all__: list[str] = []  # its modules are imported by name (territory.emulator.hubspot.<module>)
