"""A local Salesforce org ("the sandbox"): REST API subset over HTTPS on SQLite."""
