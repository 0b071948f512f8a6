from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from imports.selectors import import_list
from imports.serializers import import_resource
from leads.tenancy import request_tenant

HISTORY_ROWS = 20


@login_required
def import_page_view(request: HttpRequest) -> HttpResponse:
    """The import page: the upload itself goes to /api/csv-upload from the page's script."""
    jobs = import_list(tenant=request_tenant(request))[:HISTORY_ROWS]
    history = [{**import_resource(job), "created": job.created_at} for job in jobs]
    return render(request, "leads/import.html", {"history": history})
