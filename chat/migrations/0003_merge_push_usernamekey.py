# The worker's push tables and the username keys were added side by side (both after 0001).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_push"),
        ("chat", "0002_usernamekey"),
    ]
    operations = []
