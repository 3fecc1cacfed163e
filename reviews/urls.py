from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("orders/<ulid:public_id>/review/", views.review_create, name="create"),
    path("stalls/<ulid:public_id>/reviews/", views.stall_reviews, name="stall"),
    path("reviews/<ulid:public_id>/reply/", views.review_reply, name="reply"),
]
