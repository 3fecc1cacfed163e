from django.urls import path

from . import election_views, sections, views

app_name = "stewards"

# The console's own pages sit under /admin/, before Django's admin in the root URLs.
urlpatterns = [
    path("admin/sections/", sections.sections_map, name="sections"),
    path("admin/sections/move/", sections.stall_move_view, name="stall_move"),
    path("admin/queue/", views.queue, name="queue"),
    path("admin/queue/act/", views.queue_apply, name="queue_act"),
    path("admin/queue/photos/<ulid:public_id>/", views.held_photo, name="held_photo"),
    path("elections/", election_views.election_list, name="elections"),
    path("elections/<ulid:public_id>/", election_views.election_detail, name="election"),
    path("elections/<ulid:public_id>/stand/", election_views.stand, name="stand"),
    path("elections/<ulid:public_id>/vote/", election_views.vote, name="vote"),
    path("report/<str:kind>/<ulid:public_id>/", views.report, name="report"),
    path("account/reports/", views.my_reports, name="my_reports"),
    path("account/sanctions/", views.my_sanctions, name="my_sanctions"),
    path("account/sanctions/<ulid:public_id>/appeal/", views.appeal, name="appeal"),
]
