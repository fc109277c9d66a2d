"""Tests for the write policy: the only writes Engage may make in Salesforce."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.policy import TASK_FIELDS, PolicyRefusal, check

EXTERNAL_ID = "Engage_Activity_Id__c"


def _call_task_fields(**overrides: Any) -> dict[str, Any]:
    """Fields the activity agent sends for a logged call."""
    return {
        "Subject": "Call: Discovery call",
        "Description": "Call Result: Connected - direct line",
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "WhoId": "003000000000001AAA",
        "OwnerId": "005000000000001AAA",
        "TaskSubtype": "Call",
        "CallDisposition": "Connected - direct line",
        "CallType": "Outbound",
        "CallDurationInSeconds": 125,
        "Engage_Call_Duration_Minutes__c": 2.08,
        EXTERNAL_ID: "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
    } | overrides


def _command(**overrides: Any) -> dict[str, Any]:
    """A decoded SalesforceCommand: the allowed Task upsert unless overridden."""
    return {
        "command_id": "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
        "issued_at": None,
        "operation": "UPSERT",
        "sobject": "Task",
        "external_id_field": EXTERNAL_ID,
        "record_id": None,
        "fields": _call_task_fields(),
        "source_event_id": "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
        "source_occurred_at": None,
        "engage_contact_id": None,
    } | overrides


def test_task_upsert_by_activity_id_with_the_agents_call_fields_passes() -> None:
    assert _call_task_fields().keys() == TASK_FIELDS

    assert check(_command()).label == "Task upsert by Engage_Activity_Id__c"


def test_email_task_upsert_with_a_subset_of_the_fields_passes() -> None:
    fields = {
        "Subject": "Email: Opened",
        "Status": "Completed",
        "WhoId": "00Q000000000001AAA",
        "TaskSubtype": "Email",
        EXTERNAL_ID: "evt-email-1",
    }

    assert check(_command(fields=fields)).label == (
        "Task upsert by Engage_Activity_Id__c"
    )


def test_null_values_of_allowed_fields_pass() -> None:
    rule = check(_command(fields=_call_task_fields(Description=None, CallType=None)))

    assert rule.label == "Task upsert by Engage_Activity_Id__c"


LEAD_ID = "00Q5e00000AbCdEEAV"
LEAD_ID_15 = "00Q5e00000AbCdE"
CONTACT_ID = "0035e00000AbCdEEAV"
ACCOUNT_ID = "0015e00000AbCdEEAV"
ENGAGE_CONTACT = "ec-42"


def _write(
    operation: str, sobject: str, fields: dict[str, Any], **more: Any
) -> dict[str, Any]:
    """A command other than the Task upsert: no external id field unless given."""
    return _command(
        **{"external_id_field": None}
        | more
        | {"operation": operation, "sobject": sobject, "fields": fields}
    )


def _update(sobject: str, record_id: str | None, **fields: Any) -> dict[str, Any]:
    return _write("UPDATE", sobject, fields, record_id=record_id)


def _match(operation: str, sobject: str, **fields: Any) -> dict[str, Any]:
    return _write(operation, sobject, fields, engage_contact_id=ENGAGE_CONTACT)


FULL_LEAD = {
    "LastName": "Smith",
    "FirstName": "Ada",
    "Salutation": "Ms.",
    "Email": "ada@example.org",
    "Phone": "+1 555 0100",
    "Company": "Acme",
    "Title": "CTO",
}
FULL_CONTACT = {k: v for k, v in FULL_LEAD.items() if k != "Company"}
FULL_CONTACT["AccountId"] = ACCOUNT_ID

ALLOWED = {
    "task upsert by activity id": _command(),
    "create lead, required fields only": _write(
        "CREATE", "Lead", {"LastName": "Smith", "Company": "Acme"}
    ),
    "create lead, every allowed field": _write("CREATE", "Lead", FULL_LEAD),
    "create lead, null optional field": _write(
        "CREATE", "Lead", {"LastName": "Smith", "Company": "Acme", "Email": None}
    ),
    "create contact, required fields only": _write(
        "CREATE", "Contact", {"LastName": "Smith"}
    ),
    "create contact, every allowed field": _write("CREATE", "Contact", FULL_CONTACT),
    "create account, name only": _write("CREATE", "Account", {"Name": "Acme"}),
    "create account with website": _write(
        "CREATE", "Account", {"Name": "Acme", "Website": "https://acme.example"}
    ),
    "update lead status (18-char id)": _update("Lead", LEAD_ID, Status="Working"),
    "update lead status (15-char id)": _update("Lead", LEAD_ID_15, Status="Working"),
    "opt a lead out of email": _update("Lead", LEAD_ID, HasOptedOutOfEmail=True),
    "opt a contact out of email": _update(
        "Contact", CONTACT_ID, HasOptedOutOfEmail=True
    ),
    "match lead by email": _match("MATCH", "Lead", Email="ada@example.org"),
    "match contact by last name and phone": _match(
        "MATCH", "Contact", LastName="Smith", Phone="+1 555 0100"
    ),
    "match contact with every allowed field": _match(
        "MATCH", "Contact", **FULL_CONTACT
    ),
    "match or create lead": _match(
        "MATCH_OR_CREATE", "Lead", LastName="Smith", Company="Acme", Email="a@b.org"
    ),
    "match or create lead, every allowed field": _match(
        "MATCH_OR_CREATE", "Lead", **FULL_LEAD
    ),
    "match or create contact": _match(
        "MATCH_OR_CREATE", "Contact", LastName="Smith", FirstName="Ada"
    ),
    # What a create would then write is checked as that CREATE (the linker).
    "match or create lead without company": _match(
        "MATCH_OR_CREATE", "Lead", LastName="Smith", Email="a@b.org"
    ),
}


# Which allowed write each example is: check() must name that one, not just pass.
ALLOWED_AS = {
    "task upsert by activity id": "Task upsert by Engage_Activity_Id__c",
    "create lead, required fields only": "Lead create",
    "create lead, every allowed field": "Lead create",
    "create lead, null optional field": "Lead create",
    "create contact, required fields only": "Contact create",
    "create contact, every allowed field": "Contact create",
    "create account, name only": "Account create",
    "create account with website": "Account create",
    "update lead status (18-char id)": "Lead Status update",
    "update lead status (15-char id)": "Lead Status update",
    "opt a lead out of email": "Lead HasOptedOutOfEmail update",
    "opt a contact out of email": "Contact HasOptedOutOfEmail update",
    "match lead by email": "Lead match",
    "match contact by last name and phone": "Contact match",
    "match contact with every allowed field": "Contact match",
    "match or create lead": "Lead match or create",
    "match or create lead, every allowed field": "Lead match or create",
    "match or create contact": "Contact match or create",
    "match or create lead without company": "Lead match or create",
}


@pytest.mark.parametrize("name", ALLOWED, ids=ALLOWED.keys())
def test_every_allowed_write_is_the_write_it_names(name: str) -> None:
    assert check(ALLOWED[name]).label == ALLOWED_AS[name]


def test_every_allowed_example_names_its_write() -> None:
    assert ALLOWED.keys() == ALLOWED_AS.keys()


def test_reading_a_known_record_by_id_is_the_read_rule_not_the_match_rule() -> None:
    command = _match("MATCH", "Contact") | {"record_id": CONTACT_ID}

    assert check(command).label == "Contact read by id"


REFUSED = {
    "field outside the agent's set": (
        _command(fields=_call_task_fields(Priority="High")),
        "may not write field(s) Priority",
    ),
    "read-only field": (
        _command(fields=_call_task_fields(IsClosed=True)),
        "IsClosed",
    ),
    "several extra fields, all named": (
        _command(fields=_call_task_fields(WhatId="001000000000001AAA", Type="Call")),
        "Type, WhatId",
    ),
    "upsert of a contact": (
        _command(sobject="Contact", fields={"LastName": "Smith", EXTERNAL_ID: "x"}),
        "UPSERT on Contact is not a write Engage may make",
    ),
    "upsert of a lead": (
        _command(sobject="Lead", fields={"Company": "Acme", EXTERNAL_ID: "x"}),
        "UPSERT on Lead is not a write Engage may make",
    ),
    "upsert of an event": (
        _command(sobject="Event", fields={"Subject": "Meeting", EXTERNAL_ID: "x"}),
        "UPSERT on Event is not a write Engage may make",
    ),
    "delete of a task": (
        _command(
            operation="DELETE",
            external_id_field=None,
            record_id="00T5e00000AbCdEEAV",
            fields={},
        ),
        "DELETE on Task is not a write Engage may make",
    ),
    "update of a task": (
        _command(
            operation="UPDATE",
            external_id_field=None,
            record_id="00T5e00000AbCdEEAV",
            fields={"Status": "Completed"},
        ),
        "UPDATE on Task is not a write Engage may make",
    ),
    "create of a task": (
        _command(operation="CREATE", external_id_field=None),
        "CREATE on Task is not a write Engage may make",
    ),
    "create of a task keyed like an upsert": (
        _command(operation="CREATE"),
        "CREATE on Task is not a write Engage may make",
    ),
    "missing activity id value": (
        _command(
            fields={k: v for k, v in _call_task_fields().items() if k != EXTERNAL_ID}
        ),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "null activity id value": (
        _command(fields=_call_task_fields(**{EXTERNAL_ID: None})),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "empty activity id value": (
        _command(fields=_call_task_fields(**{EXTERNAL_ID: ""})),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "upsert keyed by Id": (
        _command(external_id_field="Id"),
        "must be keyed by Engage_Activity_Id__c",
    ),
    "upsert keyed by another external id": (
        _command(external_id_field="Legacy_Id__c"),
        "must be keyed by Engage_Activity_Id__c",
    ),
    "upsert without an external id field": (
        _command(external_id_field=None),
        "must be keyed by Engage_Activity_Id__c",
    ),
    # Leads, Contacts and Accounts: creates
    "create lead without company": (
        _write("CREATE", "Lead", {"LastName": "Smith"}),
        "CREATE Lead needs Company",
    ),
    "create lead with blank last name": (
        _write("CREATE", "Lead", {"LastName": "  ", "Company": "Acme"}),
        "CREATE Lead needs LastName",
    ),
    "create lead with an owner": (
        _write(
            "CREATE",
            "Lead",
            {"LastName": "Smith", "Company": "Acme", "OwnerId": "005000000000001AAA"},
        ),
        "CREATE Lead may not write field(s) OwnerId",
    ),
    "create lead already opted out": (
        _write(
            "CREATE",
            "Lead",
            {"LastName": "Smith", "Company": "Acme", "HasOptedOutOfEmail": True},
        ),
        "may not write field(s) HasOptedOutOfEmail",
    ),
    "create contact with a company": (
        _write("CREATE", "Contact", {"LastName": "Smith", "Company": "Acme"}),
        "CREATE Contact may not write field(s) Company",
    ),
    "create contact with null last name": (
        _write("CREATE", "Contact", {"LastName": None, "Email": "a@b.org"}),
        "CREATE Contact needs LastName",
    ),
    "create contact with a record id": (
        _write("CREATE", "Contact", {"LastName": "Smith"}, record_id=CONTACT_ID),
        f"CREATE Contact takes no record_id, not {CONTACT_ID}",
    ),
    "create lead keyed like an upsert": (
        _write("CREATE", "Lead", FULL_LEAD, external_id_field="Email"),
        "CREATE Lead takes no external_id_field, not Email",
    ),
    "create account without name": (
        _write("CREATE", "Account", {"Website": "https://acme.example"}),
        "CREATE Account needs Name",
    ),
    "create account with an industry": (
        _write("CREATE", "Account", {"Name": "Acme", "Industry": "Retail"}),
        "CREATE Account may not write field(s) Industry",
    ),
    "create opportunity": (
        _write("CREATE", "Opportunity", {"Name": "Deal"}),
        "CREATE on Opportunity is not a write Engage may make",
    ),
    "create user": (
        _write("CREATE", "User", {"LastName": "Smith"}),
        "CREATE on User is not a write Engage may make",
    ),
    # Updates
    "update of a lead's last name": (
        _update("Lead", LEAD_ID, LastName="Smyth"),
        "UPDATE Lead may not write field(s) LastName",
    ),
    "update of a lead's status and email": (
        _update("Lead", LEAD_ID, Status="Working", Email="x@y.org"),
        "UPDATE Lead may not write field(s) Email",
    ),
    "update of a lead's status and owner": (
        _update("Lead", LEAD_ID, Status="Working", OwnerId="005000000000001AAA"),
        "UPDATE Lead may not write field(s) OwnerId",
    ),
    "update of a lead's status to blank": (
        _update("Lead", LEAD_ID, Status=""),
        "UPDATE Lead needs Status",
    ),
    "update of a lead's status to a number": (
        _update("Lead", LEAD_ID, Status=3),
        "UPDATE Lead needs Status",
    ),
    "update of a lead with no fields": (
        _update("Lead", LEAD_ID),
        "UPDATE Lead needs Status",
    ),
    "update of a contact's status": (
        _update("Contact", CONTACT_ID, Status="Working"),
        "UPDATE Contact may not write field(s) Status",
    ),
    "update of a contact's email": (
        _update("Contact", CONTACT_ID, Email="x@y.org"),
        "UPDATE Contact may not write field(s) Email",
    ),
    "update of a contact with no fields": (
        _update("Contact", CONTACT_ID),
        "UPDATE Contact needs HasOptedOutOfEmail = True",
    ),
    "update of a contact's email names the missing opt-out too": (
        _update("Contact", CONTACT_ID, Email="x@y.org"),
        "may not write field(s) Email; needs HasOptedOutOfEmail = True",
    ),
    "opt a contact back in": (
        _update("Contact", CONTACT_ID, HasOptedOutOfEmail=False),
        "UPDATE Contact may only set HasOptedOutOfEmail to True, not False",
    ),
    "opt a lead back in": (
        _update("Lead", LEAD_ID, HasOptedOutOfEmail=False),
        "may only set HasOptedOutOfEmail to True, not False",
    ),
    "opt out with a string": (
        _update("Lead", LEAD_ID, HasOptedOutOfEmail="true"),
        "may only set HasOptedOutOfEmail to True, not true",
    ),
    "opt out with a number": (
        _update("Contact", CONTACT_ID, HasOptedOutOfEmail=1),
        "may only set HasOptedOutOfEmail to True, not 1",
    ),
    "opt out together with a name change": (
        _update("Contact", CONTACT_ID, HasOptedOutOfEmail=True, LastName="X"),
        "UPDATE Contact may not write field(s) LastName",
    ),
    "lead update without a record id": (
        _update("Lead", None, Status="Working"),
        "UPDATE Lead needs a Lead id (00Q...) as record_id, not None",
    ),
    "lead update with a contact's id": (
        _update("Lead", CONTACT_ID, Status="Working"),
        f"UPDATE Lead needs a Lead id (00Q...) as record_id, not {CONTACT_ID}",
    ),
    "contact opt-out with a lead's id": (
        _update("Contact", LEAD_ID, HasOptedOutOfEmail=True),
        f"UPDATE Contact needs a Contact id (003...) as record_id, not {LEAD_ID}",
    ),
    "lead update with a 16-character id": (
        _update("Lead", LEAD_ID[:16], Status="Working"),
        f"as record_id, not {LEAD_ID[:16]}",
    ),
    "lead update with a non-alphanumeric id": (
        _update("Lead", "00Q5e00000AbC-EEAV", Status="Working"),
        "as record_id, not 00Q5e00000AbC-EEAV",
    ),
    "lead update keyed by an external id": (
        _update("Lead", LEAD_ID, Status="Working") | {"external_id_field": "Email"},
        "UPDATE Lead takes no external_id_field, not Email",
    ),
    "wrong id and a forbidden field: both named": (
        _update("Lead", ACCOUNT_ID, LastName="X"),
        f"not {ACCOUNT_ID}; may not write field(s) LastName",
    ),
    "update of an account": (
        _update("Account", ACCOUNT_ID, Name="Acme Inc"),
        "UPDATE on Account is not a write Engage may make",
    ),
    "update of an opportunity": (
        _update("Opportunity", "0065e00000AbCdEEAV", StageName="Closed Won"),
        "UPDATE on Opportunity is not a write Engage may make",
    ),
    "update of a user": (
        _update("User", "0055e00000AbCdEEAV", IsActive=False),
        "UPDATE on User is not a write Engage may make",
    ),
    # Deletes
    "delete of a lead": (
        _write("DELETE", "Lead", {}, record_id=LEAD_ID),
        "DELETE on Lead is not a write Engage may make",
    ),
    "delete of a contact": (
        _write("DELETE", "Contact", {}, record_id=CONTACT_ID),
        "DELETE on Contact is not a write Engage may make",
    ),
    "delete of an account": (
        _write("DELETE", "Account", {}, record_id=ACCOUNT_ID),
        "DELETE on Account is not a write Engage may make",
    ),
    # Matches
    "match without an engage contact": (
        _write("MATCH", "Lead", {"Email": "a@b.org"}),
        "MATCH Lead needs engage_contact_id",
    ),
    "match with a blank engage contact": (
        _write("MATCH", "Contact", {"Email": "a@b.org"}, engage_contact_id=" "),
        "MATCH Contact needs engage_contact_id",
    ),
    "match on last name alone": (
        _match("MATCH", "Contact", LastName="Smith", FirstName="Ada"),
        "MATCH Contact needs Email or LastName and Phone to match on",
    ),
    "match on a blank email": (
        _match("MATCH", "Lead", Email="", Phone="+1 555 0100"),
        "MATCH Lead needs Email or LastName and Phone to match on",
    ),
    "match writing an owner": (
        _match("MATCH", "Lead", Email="a@b.org", OwnerId="005000000000001AAA"),
        "MATCH Lead may not write field(s) OwnerId",
    ),
    "match contact with a lead-only field": (
        _match("MATCH", "Contact", Email="a@b.org", Company="Acme"),
        "MATCH Contact may not write field(s) Company",
    ),
    "create lead with a status the mapping does not send": (
        _write("CREATE", "Lead", FULL_LEAD | {"Status": "Open - Not Contacted"}),
        "CREATE Lead may not write field(s) Status",
    ),
    "match or create carrying a field the mapping does not send": (
        _match("MATCH_OR_CREATE", "Contact", Email="a@b.org", Department="R&D"),
        "MATCH_OR_CREATE Contact may not write field(s) Department",
    ),
    "match or create without an engage contact": (
        _write("MATCH_OR_CREATE", "Contact", {"LastName": "Smith"}),
        "MATCH_OR_CREATE Contact needs engage_contact_id",
    ),
    "match or create an account": (
        _match("MATCH_OR_CREATE", "Account", Name="Acme"),
        "MATCH_OR_CREATE on Account is not a write Engage may make",
    ),
    "match a task": (
        _match("MATCH", "Task", Subject="Call"),
        "MATCH on Task is not a write Engage may make",
    ),
    # Tasks: anything but the upsert
    "task upsert with a record id": (
        _command(record_id="00T5e00000AbCdEEAV"),
        "UPSERT Task takes no record_id, not 00T5e00000AbCdEEAV",
    ),
}


@pytest.mark.parametrize(("command", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_write_outside_the_policy_is_refused_with_a_reason(
    command: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PolicyRefusal) as raised:
        check(command)

    assert reason in str(raised.value)


@pytest.mark.parametrize("ext_field", ["Id", "Legacy_Id__c"])
def test_upsert_keyed_by_another_field_names_that_field_in_the_reason(
    ext_field: str,
) -> None:
    with pytest.raises(PolicyRefusal) as raised:
        check(_command(external_id_field=ext_field))

    assert ext_field in str(raised.value)
    assert EXTERNAL_ID in str(raised.value)


def test_there_are_at_least_twenty_distinct_refusal_reasons() -> None:
    assert len({reason for _, reason in REFUSED.values()}) >= 20


def test_update_of_a_lead_with_an_id_of_another_object_names_the_id() -> None:
    with pytest.raises(PolicyRefusal) as raised:
        check(_update("Lead", "0065e00000AbCdEEAV", Status="Working"))

    assert "0065e00000AbCdEEAV" in str(raised.value)
    assert "Lead id" in str(raised.value)
