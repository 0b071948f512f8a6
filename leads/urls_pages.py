"""The agent's pages (HTML). Each path answers with and without its trailing slash."""

from django.urls import re_path

from leads import dnc_views, views

urlpatterns = [
    re_path(r"^$", views.desk_view, name="desk"),
    re_path(r"^leads/(?P<lead_id>[0-9]{1,18})/?$", views.lead_detail_view, name="lead-page"),
    re_path(r"^leads/(?P<lead_id>[0-9]{1,18})/next/?$", views.lead_next_view, name="lead-next"),
    re_path(r"^desk/waiting/?$", views.waiting_view, name="desk-waiting"),
    re_path(
        r"^leads/(?P<lead_id>[0-9]{1,18})/do-not-call/?$",
        dnc_views.lead_dnc_add_view,
        name="lead-dnc-add",
    ),
    re_path(r"^dnc/?$", dnc_views.dnc_page_view, name="dnc-page"),
    re_path(
        r"^dnc/(?P<entry_id>[0-9]{1,18})/remove/?$",
        dnc_views.dnc_remove_view,
        name="dnc-remove-page",
    ),
    re_path(r"^accounts/signup/?$", views.signup_view, name="signup"),
]
