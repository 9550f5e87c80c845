"""The chat domain: rooms, members, messages, receipts. Apps import it; it imports no app."""
