"""The domain of ascend-index (job IDs, blob layout, metadata, log records, search documents),
its ports, and the adapters that connect the ports to Azure, Azurite and SQLite."""
