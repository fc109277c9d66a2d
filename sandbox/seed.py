"""Deterministic demo data: Leads, Contacts, their Accounts and the sales reps."""

from __future__ import annotations

import random
from typing import Any

from sandbox.admin_records import AdminRecords

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Priya",
    "Wei",
    "Carlos",
    "Fatima",
    "Olga",
    "Kenji",
    "Aisha",
    "Lucas",
    "Sofia",
    "Mateo",
    "Chloe",
    "Noah",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Patel",
    "Nguyen",
    "Kim",
    "O'Brien",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Kowalski",
]
COMPANY_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Aperture",
    "Massive",
    "Pied Piper",
    "Northwind",
    "Contoso",
    "Fabrikam",
]
COMPANY_B = [
    "Corp",
    "Inc.",
    "Industries",
    "Labs",
    "Systems",
    "Group",
    "Holdings",
    "Technologies",
    "Partners",
    "LLC",
]
TITLES = [
    "VP of Sales",
    "Sales Manager",
    "Account Executive",
    "Sales Development Rep",
    "Director of Sales Operations",
    "CEO",
    "CTO",
    "Marketing Manager",
    "Head of Engineering",
    "Operations Analyst",
    "Procurement Lead",
    "Chief Revenue Officer",
    "Product Manager",
    "Office Manager",
    None,
]
INDUSTRIES = [
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
DOMAINS = ["com", "io", "net", "co"]
# The demo's sales reps: real Users of the org, so Tasks they own can be written.
# (The demo's emails are signed "Sam".)
REPS = [("Sam", "Rivera"), ("Alex", "Chen"), ("Jordan", "Okafor")]
REP_DOMAIN = "demo.engage-sync.example"


def _phone(rng: random.Random) -> str | None:
    area, mid, last = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice(
        [
            f"({area}) {mid}-{last:04d}",
            f"{area}-{mid}-{last:04d}",
            f"+1 {area} {mid} {last:04d}",
            f"{area}{mid}{last:04d}",
            f"{area}.{mid}.{last:04d}",
            f"+1-{area}-{mid}-{last:04d}",
            None,
        ]
    )


def _email(rng: random.Random, first: str, last: str, company: str) -> str:
    domain = "".join(ch for ch in company.split()[0] if ch.isalnum())
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}"])
    local = "".join(ch for ch in local if ch.isalnum() or ch == ".")
    email = f"{local}@{domain}.{rng.choice(DOMAINS)}"
    # Mixed case on purpose: matching must be case-insensitive.
    return rng.choice([email, email.lower(), email.upper(), email.capitalize()])


def _revenue(rng: random.Random) -> float:
    # Log-normal around 1,000,000 so filters like "AnnualRevenue > 1000000"
    # split the population roughly in half.
    return float(round(rng.lognormvariate(13.8155, 0.9), -3))


def seed(
    admin: AdminRecords,
    leads: int,
    contacts: int,
    seed_value: int = 0,
    reps: int = 0,
) -> dict[str, Any]:
    """Insert demo records; returns their ids. Same seed → same data.

    `reps` Users (at most len(REPS)) come last, so the other records' ids do not
    depend on whether reps are seeded.
    """
    rng = random.Random(seed_value)
    schema = admin.state.schema
    out: dict[str, list[str]] = {"Lead": [], "Contact": [], "Account": [], "User": []}
    with admin.state.store.transaction():
        accounts = []
        for _ in range(max(1, contacts // 3) if contacts else 0):
            name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
            rid, _ = admin.put(
                schema.objects["Account"],
                {
                    "Name": name,
                    "Industry": rng.choice(INDUSTRIES),
                    "AnnualRevenue": _revenue(rng),
                    "Website": f"https://www.{name.split()[0].lower()}.com",
                },
            )
            accounts.append((rid, name))
            out["Account"].append(rid)
        for _ in range(contacts):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            account_id, company = rng.choice(accounts)
            rid, _ = admin.put(
                schema.objects["Contact"],
                {
                    "FirstName": first,
                    "LastName": last,
                    "Title": rng.choice(TITLES),
                    "Email": _email(rng, first, last, company),
                    "Phone": _phone(rng),
                    "AccountId": account_id,
                    "HasOptedOutOfEmail": rng.random() < 0.1,
                },
            )
            out["Contact"].append(rid)
        for _ in range(leads):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"
            rid, _ = admin.put(
                schema.objects["Lead"],
                {
                    "FirstName": first,
                    "LastName": last,
                    "Company": company,
                    "Title": rng.choice(TITLES),
                    "Email": _email(rng, first, last, company),
                    "Phone": _phone(rng),
                    "AnnualRevenue": _revenue(rng),
                    "Industry": rng.choice(INDUSTRIES),
                    "HasOptedOutOfEmail": rng.random() < 0.1,
                    "Status": rng.choice(
                        ["Open - Not Contacted", "Working - Contacted"]
                    ),
                },
            )
            out["Lead"].append(rid)
        for first, last in REPS[:reps]:
            rid, _ = admin.put(
                schema.objects["User"],
                {
                    "Username": f"{first}.{last}@{REP_DOMAIN}".lower(),
                    "FirstName": first,
                    "LastName": last,
                    "Email": f"{first}.{last}@{REP_DOMAIN}".lower(),
                    "Alias": (first[0] + last[:4]).lower(),
                    "IsActive": True,
                },
            )
            out["User"].append(rid)
    return {
        "leads": out["Lead"],
        "contacts": out["Contact"],
        "accounts": out["Account"],
        "users": out["User"],
    }


def standard_account_duplicate_rule(active: bool = True) -> dict[str, Any]:
    """Salesforce's standard Account duplicate rule, as the sandbox models it.

    A new org has it active with "Allow, Alert" on create: API saves without
    `allowSave=true` are refused with DUPLICATES_DETECTED and the matched Accounts.
    The real matching rule compares names fuzzily (plus billing address, phone and
    site); the sandbox matches the normalized name exactly (`rules.company_key`).
    """
    return {
        "object": "Account",
        "name": "Standard_Account_Duplicate_Rule",
        "action": "alert",
        "match_objects": ["Account"],
        "match_field": "Name",
        "match_method": "company_name",
        "active": active,
        "on_create": True,
        "on_update": False,
    }
