from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("ops/analytics/", views.ops_dashboard, name="ops"),
    path("ops/analytics/<slug:table>.csv", views.ops_csv, name="ops_csv"),
    path("dashboard/stall/analytics/", views.stall_analytics, name="stall"),
    path("dashboard/stall/analytics/now/", views.stall_live, name="stall_now"),
]
