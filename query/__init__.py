"""Query: the query language, compiled to SQL (embedded index) and OData (Azure AI Search)."""
