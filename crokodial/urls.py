from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from crokodial.api_errors import api_not_found
from crokodial.apis import AuthTokenApi, HealthApi, metrics_view
from imports.views import import_page_view
from leads.forms import LoginForm
from webhooks.views import integration_view

api_patterns: list[URLPattern | URLResolver] = [
    re_path(r"^health/?$", HealthApi.as_view(), name="health"),
    re_path(r"^auth/token/?$", AuthTokenApi.as_view(), name="auth-token"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file, and the template its style: the
    # Content-Security-Policy allows neither inline.
    re_path(
        r"^docs/?$",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="docs",
    ),
    path("", include("leads.urls")),
    path("", include("webhooks.urls")),
    path("", include("imports.urls")),
    # Last: any other /api/ path is a JSON 404, in DEBUG too.
    re_path(r"", api_not_found, name="api-not-found"),
]

urlpatterns = [
    path("", include("leads.urls_pages")),
    re_path(r"^imports/?$", import_page_view, name="import-page"),
    re_path(r"^integrations/nextgen/?$", integration_view, name="integration-page"),
    re_path(
        r"^accounts/login/?$",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    re_path(r"^accounts/logout/?$", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    # Pages without an icon link (the admin's) make browsers ask for this.
    re_path(r"^favicon\.ico$", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]

# Django's own answers (no view matched, an uncaught error): JSON under /api/, pages elsewhere.
handler400 = "crokodial.api_errors.bad_request"
handler403 = "crokodial.api_errors.permission_denied"
handler404 = "crokodial.api_errors.not_found"
handler500 = "crokodial.api_errors.server_error"
