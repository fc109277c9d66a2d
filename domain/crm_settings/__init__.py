"""CRM settings as the admin writes them: models, YAML document, describe check."""
