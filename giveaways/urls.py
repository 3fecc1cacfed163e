from django.urls import path

from . import views

app_name = "giveaways"

urlpatterns = [
    path("giveaways/rules/", views.rules, name="rules"),
    path("giveaways/<ulid:public_id>/", views.detail, name="detail"),
    path("giveaways/<ulid:public_id>/enter", views.enter, name="enter"),
    path("giveaways/<ulid:public_id>/draw", views.draw, name="draw"),
    path("giveaways/<ulid:public_id>/cancel", views.cancel, name="cancel"),
    path("stalls/<ulid:public_id>/giveaway/", views.overlay, name="overlay"),
    path("stalls/<ulid:public_id>/giveaway/tools", views.tools, name="tools"),
]
