"""The demo workspace of the embedded run: three people and a long Georgian/English room."""
import itertools

from django.contrib.auth import get_user_model

from chat import actions
from chat.models import Message, Room

DEMO_PASSWORD = "chat-demo-2026"
DEMO_USERS = ("nino", "giorgi", "alice")
DEMO_ROOM = "Demo room · სადემონსტრაციო ოთახი"

LINES = (
    "გამარჯობა! როგორ ხარ?",
    "Hello! How is the release going?",
    "კარგად, გმადლობ. დღეს ახალ ვერსიას ვაშვებთ.",
    "Great, the load test finished with zero lost messages.",
    "საღამოს შევხვდეთ თბილისში?",
    "Sure — let's meet at seven near Rustaveli.",
    "ქართული ანბანი ლამაზია: ა ბ გ დ ე ვ ზ თ ი კ ლ მ ნ ო პ ჟ რ ს ტ უ ფ ქ ღ ყ შ ჩ ც ძ წ ჭ ხ ჯ ჰ",
    "The history page of 100 messages comes back in a few milliseconds.",
    "ხვალ დილით შეხვედრა გვაქვს, არ დაგავიწყდეს.",
    "Reminder: retro tomorrow at 10:00 🙂",
    "მადლობა დახმარებისთვის! 🙏",
    "Scroll up: there are ten thousand messages in this room.",
)


def seed(message_count: int = 10_000) -> bool:
    """Create the demo users and room once; False when they are there already."""
    if Room.objects.filter(name=DEMO_ROOM).exists():
        return False
    User = get_user_model()
    users = []
    for name in DEMO_USERS:
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        users.append(user)
    room, _ = actions.create_room(users[0], name=DEMO_ROOM, kind="group", members=[u.id for u in users[1:]])
    senders = itertools.cycle([u.id for u in users])
    lines = itertools.cycle(LINES)
    rows = [(next(senders), f"{next(lines)} (#{i + 1})") for i in range(message_count)]
    actions.import_messages(room["id"], rows)
    # Everyone has seen the history but the last five messages: the room opens with some unread.
    newest = Message.objects.filter(room_id=room["id"]).order_by("-seq").values_list("id", flat=True)[:6]
    for user in users:
        actions.mark(user, room_id=room["id"], message_id=newest[0], kind="delivered")
        actions.mark(user, room_id=room["id"], message_id=newest[5], kind="read")
    return True
