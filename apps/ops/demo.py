"""The demo workspace of the embedded run: three people and a long Georgian/English room."""
import itertools

from django.contrib.auth import get_user_model

from chat import actions, queries

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
    User = get_user_model()
    first = User.objects.filter(username=DEMO_USERS[0]).first()
    if first is not None and any(room["name"] == DEMO_ROOM for room in queries.rooms_of_user(first.id)):
        return False
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
    newest = queries.history_page(users[0].id, room["id"], limit=6)["messages"]  # oldest first
    for user in users:
        actions.mark(user, room_id=room["id"], message_id=newest[-1]["id"], kind="delivered")
        actions.mark(user, room_id=room["id"], message_id=newest[0]["id"], kind="read")
    return True
