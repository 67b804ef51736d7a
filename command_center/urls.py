from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api, health, metrics, urlgroups, views

# The apps are named here as strings, as INSTALLED_APPS names them: the project's wiring, not an import, so
# the kernel still imports no app (docs/architecture.md; `make lint` checks it).
api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", api.ApiTokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/revoke-all/", api.ApiTokenRevokeAllView.as_view(), name="api-tokens-revoke-all"),
    path("auth/tokens/<slug:pk>/", api.ApiTokenView.as_view(), name="api-token-detail"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("live/", api.LiveView.as_view(), name="api-live"),
    path("orgs/", api.OrgListView.as_view(), name="api-orgs"),
    path("codes/categories/", api.CategoryListView.as_view(), name="api-categories"),
    path("codes/results/", api.HandlingResultListView.as_view(), name="api-results"),
    path("codes/supervision-levels/", api.SupervisionLevelListView.as_view(), name="api-supervision-levels"),
    path("", include("places.urls")),  # the gazetteer: search, reverse, the base map's layers
    path("", include("dispatch.urls")),  # before incidents: it adds incidents/<pk>/recommendations|dispatch/
    path("", include("incidents.urls")),
    path("", include("sentiment.urls")),  # 网情: posts in and out, events, warnings, spikes, watch lists
    path("", include("intel.urls")),  # the loop 研交办督结: analyses, directives, tasks, files, clusters/<pk>/govern/
    path("", include("community.urls")),  # 社情: volunteers' reports, triage, the register, points
    path("", include("supervision.urls")),  # reminders, 督办 orders, watch list, review queue, overdue list
    path("", include("briefing.urls")),  # the morning 三情 reports and the stations' duty logs
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script under the CSP. Swagger UI
    # writes a <style> element of its own: inline styles are allowed on this page alone (scripts stay strict).
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/", include(urlgroups.by_first_segment(api_patterns))),  # each path tries its own segment's
    path("admin/", admin.site.urls),
    path("", include("incidents.page_urls")),
    path("", include("dispatch.page_urls")),
    path("", include("intel.page_urls")),
    path("", include("supervision.page_urls")),
    path("", include("sentiment.page_urls")),
    path("", include("community.page_urls")),
    path("", include("briefing.page_urls")),
]
# MEDIA is never served as such, not even in DEBUG: uploaded files go out only through views that check
# the caller may see what they belong to.

handler400 = "command_center.views.bad_request"
handler403 = "command_center.views.permission_denied"
handler404 = "command_center.views.page_not_found"
handler500 = "command_center.views.server_error"
