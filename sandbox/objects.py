"""The sandbox's standard objects: Account, Contact, Lead, User, Task, Organization."""

from __future__ import annotations

from typing import Any

from sandbox.fields import Field, SObject


def _ro(name: str, type_: str, label: str = "", **kw: Any) -> Field:
    return Field(name, type_, label or name, createable=False, updateable=False, **kw)


def _pick(values: list[str], default: str | None = None) -> dict[str, Any]:
    return {
        "picklist": tuple(values),
        "default": default,
        "defaulted": default is not None,
    }


def _system_fields(obj: str) -> list[Field]:
    return [
        _ro("Id", "id", f"{obj} ID", length=18, nillable=False, id_lookup=True),
        _ro("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True),
        _ro("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True),
        _ro(
            "CreatedById",
            "reference",
            "Created By ID",
            length=18,
            nillable=False,
            reference_to=("User",),
            relationship="CreatedBy",
            defaulted=True,
        ),
        _ro(
            "LastModifiedDate",
            "datetime",
            "Last Modified Date",
            nillable=False,
            defaulted=True,
        ),
        _ro(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            length=18,
            nillable=False,
            reference_to=("User",),
            relationship="LastModifiedBy",
            defaulted=True,
        ),
        _ro(
            "SystemModstamp",
            "datetime",
            "System Modstamp",
            nillable=False,
            defaulted=True,
        ),
    ]


def _owner() -> Field:
    return Field(
        "OwnerId",
        "reference",
        "Owner ID",
        length=18,
        nillable=False,
        defaulted=True,
        reference_to=("User",),
        relationship="Owner",
    )


def _s(name: str, length: int, label: str = "", **kw: Any) -> Field:
    return Field(name, "string", label or name, length=length, **kw)


_SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
_INDUSTRIES = [
    "Agriculture",
    "Banking",
    "Consulting",
    "Education",
    "Energy",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
]
_LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]
TASK_STATUSES = [
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
]
CLOSED_TASK_STATUSES = frozenset({"Completed"})


def _person_fields(obj: str) -> list[Field]:
    return [
        Field("Salutation", "picklist", "Salutation", length=40, **_pick(_SALUTATIONS)),
        _s("FirstName", 40, "First Name"),
        _s("LastName", 80, "Last Name", nillable=False),
        _ro(
            "Name", "string", "Full Name", length=121, name_field=True, calculated=True
        ),
        _s("Title", 128),
        Field("Email", "email", "Email", length=80, id_lookup=True),
        Field("Phone", "phone", "Phone", length=40),
        Field("MobilePhone", "phone", "Mobile Phone", length=40),
        Field(
            "LeadSource", "picklist", "Lead Source", length=40, **_pick(_LEAD_SOURCES)
        ),
        Field(
            "HasOptedOutOfEmail",
            "boolean",
            "Email Opt Out",
            nillable=False,
            defaulted=True,
            default=False,
        ),
        Field(
            "DoNotCall",
            "boolean",
            "Do Not Call",
            nillable=False,
            defaulted=True,
            default=False,
        ),
        Field("Description", "textarea", "Description", length=32000),
        _ro(
            "MasterRecordId",
            "reference",
            "Master Record ID",
            length=18,
            reference_to=(obj,),
            relationship="MasterRecord",
        ),
        _ro("LastActivityDate", "date", "Last Activity"),
        _owner(),
    ]


def lead() -> SObject:
    fields = (
        _system_fields("Lead")
        + _person_fields("Lead")
        + [
            _s("Company", 255, nillable=False),
            Field(
                "Status",
                "picklist",
                "Status",
                length=40,
                nillable=False,
                **_pick(LEAD_STATUSES, "Open - Not Contacted"),
            ),
            Field("Industry", "picklist", "Industry", length=40, **_pick(_INDUSTRIES)),
            Field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            Field("NumberOfEmployees", "int", "Employees", digits=8),
            Field("Street", "textarea", "Street", length=255),
            _s("City", 40),
            _s("State", 80, "State/Province"),
            _s("PostalCode", 20, "Zip/Postal Code"),
            _s("Country", 80),
            Field("Website", "url", "Website", length=255),
            _ro(
                "IsConverted",
                "boolean",
                "Converted",
                nillable=False,
                defaulted=True,
                default=False,
            ),
            _ro("ConvertedDate", "date", "Converted Date"),
            _ro(
                "ConvertedContactId",
                "reference",
                "Converted Contact ID",
                length=18,
                reference_to=("Contact",),
                relationship="ConvertedContact",
            ),
            _ro(
                "ConvertedAccountId",
                "reference",
                "Converted Account ID",
                length=18,
                reference_to=("Account",),
                relationship="ConvertedAccount",
            ),
        ]
    )
    return SObject("Lead", "Lead", tuple(fields))


def contact() -> SObject:
    fields = (
        _system_fields("Contact")
        + _person_fields("Contact")
        + [
            Field(
                "AccountId",
                "reference",
                "Account ID",
                length=18,
                reference_to=("Account",),
                relationship="Account",
            ),
            _s("Department", 80),
            Field("MailingStreet", "textarea", "Mailing Street", length=255),
            _s("MailingCity", 40, "Mailing City"),
            _s("MailingState", 80, "Mailing State"),
            _s("MailingPostalCode", 20, "Mailing Zip"),
            _s("MailingCountry", 80, "Mailing Country"),
        ]
    )
    return SObject("Contact", "Contact", tuple(fields))


def account() -> SObject:
    fields = _system_fields("Account") + [
        _s("Name", 255, "Account Name", nillable=False, name_field=True),
        Field(
            "Type",
            "picklist",
            "Account Type",
            length=40,
            **_pick(["Prospect", "Customer - Direct", "Partner", "Other"]),
        ),
        Field("Industry", "picklist", "Industry", length=40, **_pick(_INDUSTRIES)),
        Field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        Field("NumberOfEmployees", "int", "Employees", digits=8),
        Field("Website", "url", "Website", length=255),
        Field("Phone", "phone", "Account Phone", length=40),
        _s("BillingCity", 40, "Billing City"),
        _s("BillingState", 80, "Billing State"),
        _s("BillingCountry", 80, "Billing Country"),
        Field("Description", "textarea", "Account Description", length=32000),
        _ro(
            "MasterRecordId",
            "reference",
            "Master Record ID",
            length=18,
            reference_to=("Account",),
            relationship="MasterRecord",
        ),
        _ro("LastActivityDate", "date", "Last Activity"),
        _owner(),
    ]
    return SObject("Account", "Account", tuple(fields))


def user() -> SObject:
    fields = _system_fields("User") + [
        _s("Username", 80, nillable=False),
        _s("FirstName", 40, "First Name"),
        _s("LastName", 80, "Last Name", nillable=False),
        _ro("Name", "string", "Full Name", length=121, name_field=True),
        Field("Email", "email", "Email", length=128, nillable=False),
        _s("Alias", 8, nillable=False),
        Field(
            "IsActive",
            "boolean",
            "Active",
            nillable=False,
            defaulted=True,
            default=True,
        ),
    ]
    return SObject("User", "User", tuple(fields))


def organization() -> SObject:
    """The org itself, read-only: one row whose Id is the org id (the Connection
    page reads its edition as a real org answers `SELECT ... FROM Organization`)."""
    fields = _system_fields("Organization") + [
        _ro("Name", "string", "Name", length=80, name_field=True),
        _ro("OrganizationType", "picklist", "Edition", length=40),
        _ro("IsSandbox", "boolean", "Is Sandbox", nillable=False, defaulted=True),
    ]
    return SObject("Organization", "Organization", tuple(fields))


def task(custom_fields: bool, ext_unique: bool) -> SObject:
    fields = _system_fields("Task") + [
        Field(
            "Subject",
            "combobox",
            "Subject",
            length=255,
            **_pick(["Call", "Send Letter", "Send Quote", "Other"]),
        ),
        Field(
            "Status",
            "picklist",
            "Status",
            length=40,
            nillable=False,
            **_pick(TASK_STATUSES, "Not Started"),
        ),
        Field(
            "Priority",
            "picklist",
            "Priority",
            length=40,
            nillable=False,
            **_pick(["High", "Normal", "Low"], "Normal"),
        ),
        Field("ActivityDate", "date", "Due Date Only"),
        Field(
            "WhoId",
            "reference",
            "Name ID",
            length=18,
            reference_to=("Contact", "Lead"),
            relationship="Who",
        ),
        Field(
            "WhatId",
            "reference",
            "Related To ID",
            length=18,
            reference_to=("Account", "Opportunity", "Case", "Campaign"),
            relationship="What",
        ),
        _owner(),
        Field("Description", "textarea", "Comments", length=32000),
        Field(
            "TaskSubtype",
            "picklist",
            "Task Subtype",
            length=40,
            updateable=False,
            restricted=True,
            **_pick(["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]),
        ),
        Field(
            "Type",
            "picklist",
            "Type",
            length=40,
            **_pick(["Call", "Email", "Meeting", "Other"]),
        ),
        Field(
            "CallType",
            "picklist",
            "Call Type",
            length=40,
            restricted=True,
            **_pick(["Internal", "Inbound", "Outbound"]),
        ),
        _s("CallDisposition", 255, "Call Result"),
        Field("CallDurationInSeconds", "int", "Call Duration", digits=8),
        _s("CallObject", 255, "Call Object Identifier"),
        _ro("CompletedDateTime", "datetime", "Completed Date/Time"),
        _ro(
            "IsClosed",
            "boolean",
            "Closed",
            nillable=False,
            defaulted=True,
            default=False,
        ),
        _ro(
            "IsHighPriority",
            "boolean",
            "High Priority",
            nillable=False,
            defaulted=True,
            default=False,
        ),
        _ro(
            "AccountId",
            "reference",
            "Account ID",
            length=18,
            reference_to=("Account",),
            relationship="Account",
        ),
    ]
    if custom_fields:
        fields += [
            Field(
                "Engage_Activity_Id__c",
                "string",
                "Engage Activity Id",
                length=255,
                external_id=True,
                unique=ext_unique,
                id_lookup=True,
                custom=True,
            ),
            Field(
                "Engage_Call_Duration_Minutes__c",
                "double",
                "Engage Call Duration Minutes",
                precision=10,
                scale=2,
                custom=True,
            ),
        ]
    return SObject("Task", "Task", tuple(fields))
