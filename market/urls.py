from django.urls import path, re_path

from . import views

app_name = "market"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    # Anything in the coordinate slots reaches the view, which redirects what is
    # not a section of the market back to 0/0.
    re_path(r"^(?P<x>[^/]+)/(?P<y>[^/]+)/$", views.section, name="section"),
]
