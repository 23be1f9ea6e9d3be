"""The tags of a run the API launches for a caller: whose it is (the tenant, which reading the run
back checks), which user asked (``users.id``, which the history rows the run makes record) and who
asked as the history shows it (the user's e-mail address)."""

from __future__ import annotations

from export_platform.api.auth import Caller
from export_platform.api.dagster_runs import TENANT_TAG
from export_platform.api.problems import not_found
from export_platform.source.url import SourceUrl
from export_platform.source.users import user_email
from export_platform.tracking.history import RESERVED_REQUESTER, USER_ID_TAG
from export_platform.tracking.notifications import EMAIL_ADDRESS

REQUESTED_BY_TAG = "export_platform/requested_by"


def requester(email: str, user_id: int) -> str:
    """Who asked, as the history records it: the user's e-mail address, or ``user <id>`` when the
    source holds something else there, so that nothing passing for a schedule or a sensor
    (``schedule:...``), nor a line break, reaches the history from a user's row."""
    if EMAIL_ADDRESS.fullmatch(email) and not RESERVED_REQUESTER.match(email):
        return email
    return f"user {user_id}"


def launch_tags(source_url: str, caller: Caller) -> dict[str, str]:
    """The tags of a run launched for ``caller``; 404 when the source no longer has the caller's
    tenant or user (the same 404 as for anything else that is not there)."""
    email = user_email(SourceUrl(source_url), caller.tenant, caller.user_id)
    if email is None:
        raise not_found()
    return {
        TENANT_TAG: caller.tenant,
        USER_ID_TAG: str(caller.user_id),
        REQUESTED_BY_TAG: requester(email, caller.user_id),
    }
