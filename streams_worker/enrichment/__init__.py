"""The article-enrichment application: catalog client, enrichers, handler, sample catalog."""
