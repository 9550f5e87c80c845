from django.core.management.base import BaseCommand

from apps.ops import demo


class Command(BaseCommand):
    help = "Create the demo users and the demo room (10,000 messages) once."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10_000)

    def handle(self, *args, messages, **options):
        if demo.seed(messages):
            self.stdout.write(f"demo data created: users {', '.join(demo.DEMO_USERS)} / password {demo.DEMO_PASSWORD}")
        else:
            self.stdout.write("demo data already present")
