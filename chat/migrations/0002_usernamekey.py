import django.db.models.deletion
import unicodedata
from django.conf import settings
from django.db import migrations, models


def _key(username: str) -> str:
    # chat.text.username_key as of this migration (a migration keeps its own copy of the rule)
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def fill_keys(apps, schema_editor):
    """Existing users get their key; a later user whose key is already taken (registered before
    the rule) keeps their name, with a key that says so (`#<id>`), and logs in by exact name."""
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    UsernameKey = apps.get_model("chat", "UsernameKey")
    taken = set()
    rows = []
    for user_id, username in User.objects.order_by("id").values_list("id", "username").iterator():
        key = _key(username)
        if key in taken:
            key = f"{key}#{user_id}"
        taken.add(key)
        rows.append(UsernameKey(user_id=user_id, key=key))
    UsernameKey.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UsernameKey",
            fields=[
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="username_key", serialize=False,
                                              to=settings.AUTH_USER_MODEL)),
                ("key", models.CharField(max_length=600, unique=True)),
            ],
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
    ]
