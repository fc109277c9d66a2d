"""The Sync settings page: records created in Engage, auto-associate, activity
history (global and per object) and the match order."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.models import SyncSettings
from engage_sync.console.auth import Csrf
from engage_sync.console.pages import editing

router = APIRouter(include_in_schema=False)

CONTACT_CHOICES = (
    ("create_lead", "Create a Lead in Salesforce"),
    ("create_contact", "Create a Contact in Salesforce"),
    ("none", "Create nothing in Salesforce"),
)
ACCOUNT_CHOICES = (
    ("create", "Create an Account in Salesforce"),
    ("none", "Create nothing in Salesforce"),
)
MATCH_ORDERS = {
    "Contact,Lead": "Contact first, then Lead",
    "Lead,Contact": "Lead first, then Contact",
    "Contact": "Contacts only",
    "Lead": "Leads only",
}
ACCOUNT_REFUSED_CHOICES = (
    ("create_contact_without_account", "Create the Contact without an Account"),
    ("skip_contact", "Create nothing: leave the contact unlinked"),
)
TASK_CHOICES = (
    ("integration_user", "Assign them to the integration user"),
    ("hold", "Hold them until the Engage user is mapped"),
)


def _activity(value: bool | dict[str, bool]) -> dict[str, str]:
    """The form's view: a global switch and per object 'inherit', 'on' or 'off'."""
    if isinstance(value, bool):
        return {"global": "on" if value else "off", "Lead": "", "Contact": ""}
    per_object = {
        o: ("on" if value[o] else "off") if o in value else ""
        for o in ("Lead", "Contact")
    }
    return {"global": "on", **per_object}


def _page(
    request: Request,
    problems: list[str] | None = None,
    status_code: int = 200,
    shown: SyncSettings | None = None,
) -> Response:
    crm = editing.crm_of(request)
    sha256 = ""
    if crm is None:
        problems, current = [editing.NOT_CONFIGURED], SyncSettings()
    else:
        settings, sha256, _ = crm.current()
        current = settings.sync_settings
    sync = shown or current
    return editing.render(
        request,
        "sync_settings.html",
        "sync-settings",
        "Sync settings",
        status_code=status_code,
        sync=sync,
        activity=_activity(sync.write_activity_history),  # type: ignore[arg-type]
        match_order=",".join(sync.match_order),
        contact_choices=CONTACT_CHOICES,
        account_choices=ACCOUNT_CHOICES,
        account_refused_choices=ACCOUNT_REFUSED_CHOICES,
        match_orders=MATCH_ORDERS,
        task_choices=TASK_CHOICES,
        base_sha256=sha256,
        problems=problems or [],
        saved=request.query_params.get("saved"),
    )


@router.get("/sync-settings", response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request)


def _from_form(form: Any) -> dict[str, Any]:
    """The sync_settings mapping the form describes, in the document's own words."""
    activity: bool | dict[str, bool] = form.get("activity.global") == "on"
    per_object = {
        obj: editing.form_text(form, f"activity.{obj}") == "on"
        for obj in ("Lead", "Contact")
        if editing.form_text(form, f"activity.{obj}") in ("on", "off")
    }
    if per_object:  # an override per object; the rest follow the global switch
        activity = {o: per_object.get(o, bool(activity)) for o in ("Lead", "Contact")}
    return {
        "engage_created_contacts": editing.form_text(form, "engage_created_contacts"),
        "engage_created_accounts": editing.form_text(form, "engage_created_accounts"),
        "on_account_refused": editing.form_text(form, "on_account_refused"),
        "auto_associate_accounts": form.get("auto_associate_accounts") == "on",
        "write_activity_history": activity,
        "phone_region": editing.form_text(form, "phone_region"),
        "match_order": [
            o for o in editing.form_text(form, "match_order").split(",") if o
        ],
        "unmapped_user_tasks": editing.form_text(form, "unmapped_user_tasks"),
    }


@router.post("/sync-settings", response_class=HTMLResponse, dependencies=[Csrf])
async def save(request: Request) -> Response:
    form = await request.form()
    wanted = _from_form(form)

    def change(data: dict[str, Any]) -> None:
        # Over the settings in force: a key this page does not show is kept.
        data["sync_settings"] = {**data.get("sync_settings", {}), **wanted}

    outcome = await editing.saving(request, form, change)
    if outcome.sha256:
        return outcome.redirect("/sync-settings")
    try:  # show what the admin chose, not the saved value, next to the problem
        shown: SyncSettings | None = SyncSettings.model_validate(wanted)
    except ValueError:
        shown = None
    return await run_in_threadpool(
        _page, request, outcome.shown, outcome.status_code, shown
    )
