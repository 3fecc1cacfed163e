"""Direct-to-S3 photo upload endpoints; included from stalls/urls.py (namespace "stalls")."""

from django.urls import path

import bazaar.ids  # noqa: F401  registers the <ulid:…> path converter

from . import upload_views

urlpatterns = [
    path("dashboard/stall/photos/presign/", upload_views.photo_presign, name="photo_presign"),
    path("dashboard/stall/photos/confirm/", upload_views.photo_confirm, name="photo_confirm"),
    path(
        "dashboard/stall/photos/uploads/<ulid:public_id>/",
        upload_views.photo_upload_status,
        name="photo_upload_status",
    ),
]
