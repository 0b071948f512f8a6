from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads.selectors import lead_list


@login_required
def desk_view(request: HttpRequest) -> HttpResponse:
    leads = lead_list(tenant=request.user)[:50]
    return render(request, "leads/desk.html", {"leads": leads})
