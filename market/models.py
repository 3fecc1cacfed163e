from django.db import models

from bazaar.ids import PublicIdField


class Section(models.Model):
    """One square of the market grid; x grows to the right, y downward."""

    public_id = PublicIdField()
    x = models.IntegerField()
    y = models.IntegerField()
    name = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["x", "y"], name="section_xy_unique")]
        ordering = ["y", "x"]

    def __str__(self) -> str:
        return f"{self.x}/{self.y}" + (f" {self.name}" if self.name else "")
