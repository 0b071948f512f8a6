from django.urls import re_path

from leads.apis import LeadDetailApi, LeadExportApi, LeadListApi

app_name = "leads"

urlpatterns = [
    re_path(r"^leads/?$", LeadListApi.as_view(), name="list"),
    re_path(r"^leads/export/?$", LeadExportApi.as_view(), name="export"),
    re_path(r"^leads/(?P<lead_id>[0-9]{1,18})/?$", LeadDetailApi.as_view(), name="detail"),
]
