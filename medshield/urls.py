from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("register/", include("medshield.register.urls")),
    path("diagrams/", include("medshield.diagrams.urls")),
    path("feeds/", include("medshield.vulns.urls")),
    path("sboms/", include("medshield.sboms.urls")),
    path("discovery/", include("medshield.discovery.urls")),
    path("findings/", include("medshield.findings.urls")),
    path("audit/", include("medshield.audit.urls")),
    path("account/", include("medshield.accounts.urls")),
    path("api/", include("medshield.api.urls")),
    path("jobs/", include("medshield.jobs.urls")),
    path("", include("medshield.web.urls")),
]
