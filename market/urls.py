from django.urls import path, re_path
from django.views.generic import RedirectView

from . import views

app_name = "market"

urlpatterns = [
    path("", views.home, name="home"),
    # Search moved to /search/ (discovery); old links keep working.
    path(
        "search/",
        RedirectView.as_view(pattern_name="discovery:search", query_string=True, permanent=True),
    ),
    # Anything in the coordinate slots reaches the view, which redirects what is
    # not a section of the market back to 0/0.
    re_path(r"^(?P<x>[^/]+)/(?P<y>[^/]+)/$", views.section, name="section"),
]
