from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField, new_ordered_ulid

from .search import SearchDocumentField, item_document

SLOTS_PER_SECTION = 9


class SellerProfile(models.Model):
    """Makes a user a seller. KYC is a stub until payouts arrive with checkout."""

    class Kyc(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    public_id = PublicIdField()
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seller_profile"
    )
    legal_name = models.CharField(max_length=120)
    country = models.CharField(max_length=2)
    kyc_status = models.CharField(max_length=16, choices=Kyc.choices, default=Kyc.PENDING)
    kyc_decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_kyc_status_display()})"


class Stall(models.Model):
    """One stall per seller, in one of a section's nine slots (0-8, row-major)."""

    public_id = PublicIdField()
    seller = models.OneToOneField(SellerProfile, on_delete=models.PROTECT, related_name="stall")
    section = models.ForeignKey("market.Section", on_delete=models.PROTECT, related_name="stalls")
    # Never NULL once a transaction commits: a steward's swap parks one stall there
    # for a statement, under both rows' locks (`stalls.moves`).
    slot = models.PositiveSmallIntegerField(
        null=True,
        validators=[MinValueValidator(0), MaxValueValidator(SLOTS_PER_SECTION - 1)],
    )
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True, max_length=5000)
    description_html = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["section", "slot"], name="stall_section_slot_unique"),
            models.CheckConstraint(
                condition=Q(slot__gte=0, slot__lt=SLOTS_PER_SECTION), name="stall_slot_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.TextChoices):
    """The market's fixed taxonomy, as a flea market sorts its tables. The value is
    the category page's address (`/categories/<value>/`), so it never changes."""

    FURNITURE = "furniture", "Furniture"
    LIGHTING = "lighting", "Lamps & Lighting"
    KITCHEN = "kitchen", "Kitchen & Dining"
    HOME = "home", "Home & Decor"
    BOOKS = "books", "Books"
    MUSIC = "music", "Records & Music"
    CLOTHING = "clothing", "Clothing & Bags"
    JEWELLERY = "jewellery", "Jewellery & Watches"
    TOYS = "toys", "Toys & Games"
    CAMERAS = "cameras", "Cameras & Electronics"
    ART = "art", "Art & Prints"
    COLLECTIBLES = "collectibles", "Collectibles"
    TOOLS = "tools", "Tools & Garden"
    SPORTS = "sports", "Sports & Outdoors"
    OTHER = "other", "Other finds"


class Condition(models.TextChoices):
    """An item's condition, in the words eBay and Vinted use (`CONDITION_HINTS` says
    what each means). Items listed before conditions existed have none ("")."""

    NEW = "new", "New"
    LIKE_NEW = "like_new", "Like new"
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    FOR_PARTS = "for_parts", "For parts or not working"


CONDITION_HINTS = {
    Condition.NEW: "Never used, in its original packaging or with its tags.",
    Condition.LIKE_NEW: "Used once or twice; no marks or wear.",
    Condition.GOOD: "Used, with light signs of wear; works as it should.",
    Condition.FAIR: "Well used: visible wear, scratches or repairs; still works.",
    Condition.FOR_PARTS: "Broken or incomplete: for repair, spares or display.",
}


class ItemManager(models.Manager):
    """Items without their search document, which only search reads (in SQL)."""

    def get_queryset(self):
        return super().get_queryset().defer("search_document")


class Item(models.Model):
    """Something for sale. Archived, never deleted, once anything refers to it."""

    public_id = PublicIdField()
    stall = models.ForeignKey(Stall, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    price_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    inventory = models.PositiveIntegerField(default=1)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    condition = models.CharField(max_length=16, choices=Condition.choices, blank=True)
    brand = models.CharField(max_length=60, blank=True)
    size = models.CharField(max_length=30, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Written by the database (stalls/search.py); its GIN index is made by migration
    # 0004 on PostgreSQL only, so it is not listed in Meta.indexes.
    search_document = models.GeneratedField(
        expression=item_document(Category.choices),
        output_field=SearchDocumentField(),
        db_persist=True,
    )

    objects = ItemManager()

    class Meta:
        indexes = [
            models.Index(fields=["stall", "archived_at"], name="item_stall_live"),
            models.Index(
                fields=["category", "-created_at"],
                condition=Q(archived_at__isnull=True),
                name="item_category_newest",
            ),
            models.Index(
                fields=["-created_at"], condition=Q(archived_at__isnull=True), name="item_newest"
            ),
            models.Index(
                fields=["price_cents"], condition=Q(archived_at__isnull=True), name="item_price"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price_cents__gt=0), name="item_price_positive")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def condition_hint(self) -> str:
        """What the item's condition word means ("" when none was given)."""
        return CONDITION_HINTS.get(self.condition, "")


class Photo(models.Model):
    """A checked, re-encoded image of a stall (item is null) or of one of its items."""

    public_id = PublicIdField()
    stall = models.ForeignKey(Stall, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    image = models.ImageField(upload_to="photos/")
    thumbnail = models.ImageField(upload_to="thumbs/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]


class PhotoUploadQuerySet(models.QuerySet):
    def listings(self) -> "PhotoUploadQuerySet":
        """Stalls' and items' own photos: dispute evidence shares their pipeline but
        never counts or shows among them."""
        return self.filter(evidence_for="")


class PhotoUpload(models.Model):
    """An uploaded photo in the private holding prefix, waiting to be checked and
    screened (`stalls.uploads`); it becomes a Photo only once it passes."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Checking…"
        HELD = "held", "Waiting for a steward"
        PUBLISHED = "published", "Published"
        REFUSED = "refused", "Refused"

    public_id = PublicIdField()
    stall = models.ForeignKey(Stall, on_delete=models.CASCADE, related_name="uploads")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, null=True, blank=True)
    key = models.CharField(max_length=200, unique=True)
    # Sent by the browser straight to the S3 bucket (else through our upload form).
    direct = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    error = models.CharField(max_length=200, blank=True)
    photo = models.OneToOneField(Photo, on_delete=models.SET_NULL, null=True, blank=True)
    # The screening (governance.screening): the backend's nudity score and what it saw.
    score = models.FloatField(null=True, blank=True)
    backend = models.CharField(max_length=16, blank=True)
    labels = models.JSONField(default=list, blank=True)
    screened_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Dispute evidence (stalls.evidence): the order it is for, by public id (blank for a
    # stall's or item's photo), who sent it, and where it is kept once it passes: a
    # private prefix served only through the order's authorised view, never a Photo.
    evidence_for = models.CharField(max_length=26, blank=True, db_index=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    private_key = models.CharField(max_length=200, blank=True)
    private_thumb_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = PhotoUploadQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="held"), name="upload_held_queue"
            )
        ]

    @property
    def is_evidence(self) -> bool:
        return bool(self.evidence_for)


class Reservation(models.Model):
    """A claim on units of an item: accepted offer, checkout in progress, live auction.

    Available quantity = inventory - quantity of active (unreleased, unexpired)
    reservations. Taken and released only through `stalls.services`.
    """

    class Reason(models.TextChoices):
        OFFER = "offer"
        CHECKOUT = "checkout"
        AUCTION = "auction"
        GIVEAWAY = "giveaway"

    public_id = PublicIdField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="reservations")
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    reference = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["item", "expires_at"],
                condition=Q(released_at__isnull=True),
                name="reservation_active",
            )
        ]


class StockEvent(models.Model):
    """Audit trail of every stock change: who, what, how many, why."""

    class Kind(models.TextChoices):
        INVENTORY_SET = "inventory_set"
        RESERVED = "reserved"
        RELEASED = "released"
        CONSUMED = "consumed"
        ARCHIVED = "archived"

    # An item with no reservations (never traded) may be deleted with its events;
    # one with reservations is protected by them and archived instead.
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="stock_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, null=True)
    quantity = models.IntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)


class ChatMessage(models.Model):
    """One accepted chat message. The public id is a ULID that counts up within a
    millisecond (bazaar.ids.new_ordered_ulid): ordering by it is the order written."""

    class Status(models.TextChoices):
        VISIBLE = "visible", "Visible"
        HELD = "held", "Held for review"
        DELETED = "deleted", "Deleted"

    public_id = PublicIdField(default=new_ordered_ulid)
    stall = models.ForeignKey(Stall, on_delete=models.CASCADE, related_name="chat_messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages"
    )
    text = models.CharField(max_length=500)
    mentions = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VISIBLE)
    flags = models.JSONField(default=list, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["stall", "public_id"], name="chat_stall_order"),
            models.Index(fields=["author", "created_at"], name="chat_author_recent"),
            models.Index(
                fields=["status", "created_at"],
                condition=Q(status="held"),
                name="chat_held_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.author} in {self.stall}: {self.text[:40]}"


class StallDocument(models.Model):
    """The stall's shared CRDT document: its epoch changes when the log is compacted."""

    stall = models.OneToOneField(Stall, on_delete=models.CASCADE, related_name="document")
    epoch = models.PositiveIntegerField(default=1)
    compacted_at = models.DateTimeField(null=True, blank=True)


class StallDocumentUpdate(models.Model):
    """The document's binary updates, in the order they were committed.

    A replica (another process, or after a restart) is rebuilt by replaying
    them; nothing is re-derived from chat rows, which would duplicate entries.
    """

    document = models.ForeignKey(StallDocument, on_delete=models.CASCADE, related_name="updates")
    epoch = models.PositiveIntegerField()
    update = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["document", "epoch", "id"], name="doc_update_replay")]
