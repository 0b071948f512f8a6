from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crokodial.apis import AuthTokenApi, HealthApi, metrics_view
from imports.views import import_page_view
from webhooks.views import integration_view

api_patterns = [
    re_path(r"^health/?$", HealthApi.as_view(), name="health"),
    re_path(r"^auth/token/?$", AuthTokenApi.as_view(), name="auth-token"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("leads.urls")),
    path("", include("webhooks.urls")),
    path("", include("imports.urls")),
]

urlpatterns = [
    path("", include("leads.urls_pages")),
    re_path(r"^imports/?$", import_page_view, name="import-page"),
    re_path(r"^integrations/nextgen/?$", integration_view, name="integration-page"),
    re_path(r"^accounts/login/?$", auth_views.LoginView.as_view(), name="login"),
    re_path(r"^accounts/logout/?$", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
]

# Errors raised outside a view (a middleware reading the session while the database is down)
# are answered 503 when they are an outage (docs/failures.md).
handler500 = "crokodial.outages.server_error"
