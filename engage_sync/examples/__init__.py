"""Resource package: the example CRM settings, shipped in the wheel as package data.

`engage-sync up` applies `crm-settings.example.yaml` to its demo org; admins copy it
as the starting point of their own settings document.
"""
