import re

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportStatus
from imports.parsing.layouts import FIELD_BY_API_NAME
from imports.selectors import import_history
from imports.serializers import import_resource
from imports.undo import UNDO_WINDOW
from leads.tenancy import request_tenant

HISTORY_ROWS = 20
# Stands for an import's id in the URLs handed to the page's script ("{id}" there).
ID_SLOT = 987654321
UNDOABLE = (ImportStatus.DONE, ImportStatus.FAILED)
# Where a field's name does not read well as a label.
FIELD_LABELS = {
    "name": "Full name (first and last)",
    "dob": "Date of birth",
    "zipcode": "ZIP code",
    "nextgenId": "NextGen lead id",
    "hasMedicarePartsAb": "Has Medicare parts A and B",
    "utmSource": "UTM source",
    "utmMedium": "UTM medium",
    "utmCampaign": "UTM campaign",
}


def _url_with_id_slot(name: str) -> str:
    return reverse(name, kwargs={"import_id": ID_SLOT}).replace(str(ID_SLOT), "{id}")


def _field_label(api_name: str) -> str:
    """Return a field's label: "firstName" → "First name", "street1" → "Street 1"."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", api_name)
    text = " ".join(word.lower() for word in words)
    return text[:1].upper() + text[1:]


@login_required
def import_page_view(request: HttpRequest) -> HttpResponse:
    """The import page: the file goes to the preview API from the page's script, the agent maps
    its columns, tries and runs it there; the history and its undo are rendered here."""
    now = timezone.now()
    history = []
    for job in import_history(tenant=request_tenant(request))[:HISTORY_ROWS]:
        undoable = job.status in UNDOABLE and (
            job.finished_at is None or now - job.finished_at <= UNDO_WINDOW
        )
        history.append(
            {
                **import_resource(job),
                "created": job.created_at,
                "undoUrl": reverse("imports:undo", kwargs={"import_id": job.pk}),
                "undoable": undoable,
            }
        )
    urls = {
        "preview": reverse("imports:preview"),
        "run": _url_with_id_slot("imports:run"),
        "undo": _url_with_id_slot("imports:undo"),
        "detail": _url_with_id_slot("imports:detail"),
        "desk": reverse("desk"),
    }
    fields = sorted(
        (
            {"value": name, "label": FIELD_LABELS.get(name) or _field_label(name)}
            for name in FIELD_BY_API_NAME
        ),
        key=lambda field: field["label"],
    )
    return render(
        request, "leads/import.html", {"history": history, "urls": urls, "lead_fields": fields}
    )
