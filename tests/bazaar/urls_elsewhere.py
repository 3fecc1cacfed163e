"""The market's URLs under /elsewhere/, for the `{% url %}` tag's tests."""

from django.urls import include, path

urlpatterns = [path("elsewhere/", include("bazaar.urls"))]
