from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from incidents.urls import api_urlpatterns as incidents_api

from . import api, health, views

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("orgs/", api.OrgListView.as_view(), name="api-orgs"),
    path("codes/categories/", api.CategoryListView.as_view(), name="api-categories"),
    path("codes/results/", api.HandlingResultListView.as_view(), name="api-results"),
    path("codes/supervision-levels/", api.SupervisionLevelListView.as_view(), name="api-supervision-levels"),
    path("", include(incidents_api)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
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
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("", include("incidents.page_urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
