"""Adapters of the ports: the only modules that import an Azure SDK or sqlite3."""
