"""The HubSpot view of the emulator: properties and property groups, contacts."""
