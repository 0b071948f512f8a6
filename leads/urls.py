from django.urls import re_path

from leads.apis import LeadDetailApi, LeadExportApi, LeadListApi
from leads.calling_apis import CallabilityApi, CallAttemptDetailApi, CallAttemptListApi
from leads.dnc_apis import DncAuditCsvApi, DncListApi, DncRemoveApi
from leads.followup_apis import FollowUpListApi, LeadTimelineApi

app_name = "leads"

urlpatterns = [
    re_path(r"^leads/?$", LeadListApi.as_view(), name="list"),
    re_path(r"^leads/export/?$", LeadExportApi.as_view(), name="export"),
    re_path(r"^leads/(?P<lead_id>[0-9]{1,18})/?$", LeadDetailApi.as_view(), name="detail"),
    re_path(
        r"^leads/(?P<lead_id>[0-9]{1,18})/callability/?$",
        CallabilityApi.as_view(),
        name="callability",
    ),
    re_path(
        r"^leads/(?P<lead_id>[0-9]{1,18})/attempts/?$",
        CallAttemptListApi.as_view(),
        name="attempts",
    ),
    re_path(
        r"^leads/(?P<lead_id>[0-9]{1,18})/attempts/(?P<attempt_id>[0-9]{1,18})/?$",
        CallAttemptDetailApi.as_view(),
        name="attempt",
    ),
    re_path(
        r"^leads/(?P<lead_id>[0-9]{1,18})/timeline/?$",
        LeadTimelineApi.as_view(),
        name="timeline",
    ),
    re_path(r"^followups/?$", FollowUpListApi.as_view(), name="followups"),
    re_path(r"^dnc/?$", DncListApi.as_view(), name="dnc-list"),
    re_path(r"^dnc/audit\.csv/?$", DncAuditCsvApi.as_view(), name="dnc-audit"),
    re_path(r"^dnc/(?P<entry_id>[0-9]{1,18})/remove/?$", DncRemoveApi.as_view(), name="dnc-remove"),
]
