"""The NextGen integration page: where an agent finds its webhook URL and manages its key."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from leads.tenancy import request_tenant
from webhooks.models import NextGenCredential
from webhooks.services import CredentialExists, nextgen_credential_issue

NEW_API_KEY = "nextgen_new_api_key"


def _active_credential(tenant) -> NextGenCredential | None:
    # Belongs in webhooks/selectors.py once that module exists; kept here, tenant-scoped.
    return NextGenCredential.objects.filter(tenant=tenant, is_active=True).first()


@never_cache
@login_required
def integration_view(request: HttpRequest) -> HttpResponse:
    """Show the webhook URL and sid; POST creates the credentials, or rotates them when confirmed.

    The api key is stored hashed: the page shows it once, on the GET the POST redirects to
    (it waits in the session only until then), so reloading neither re-posts nor shows it again.
    """
    error = ""
    if request.method == "POST":
        rotate = request.POST.get("action") == "rotate"
        if rotate and request.POST.get("confirm") != "yes":
            error = "Tick the box to confirm: the current key stops working at once."
        else:
            try:
                _credential, api_key = nextgen_credential_issue(
                    tenant=request_tenant(request), rotate=rotate
                )
            except CredentialExists:
                error = "You already have credentials; rotate them to get a new key."
            else:
                request.session[NEW_API_KEY] = api_key
                return redirect("integration-page")
    api_key = request.session.pop(NEW_API_KEY, "")
    credential = _active_credential(request_tenant(request))
    return render(
        request,
        "leads/integration.html",
        {
            "credential": credential,
            "api_key": api_key,
            "error": error,
            "webhook_url": request.build_absolute_uri(reverse("webhooks:nextgen")),
        },
        status=400 if error else 200,
    )
