from django.urls import path

from . import sections

app_name = "stewards"

# Mounted under /admin/, before Django's admin: the steward console's own pages.
urlpatterns = [
    path("sections/", sections.sections_map, name="sections"),
    path("sections/move/", sections.stall_move_view, name="stall_move"),
]
