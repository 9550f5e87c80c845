"""The Chatter's send schedule (loadtests/pacing.py): every user keeps the phase it drew, and one
that fell behind skips the slots it missed instead of catching up in a burst."""
from loadtests.pacing import next_slot


def test_the_next_slot_is_one_interval_on_when_on_time():
    assert next_slot(10.25, 1.0, now=10.26) == 11.25


def test_the_phase_is_kept_whatever_the_task_took():
    # A send that took most of the interval still leaves the user on its own phase
    # (constant_pacing's origin is the user's creation instead: every user of a spawn batch
    # ends up sending in the same instant).
    assert next_slot(10.25, 1.0, now=11.2) == 11.25


def test_slots_missed_while_away_are_skipped_not_sent_at_once():
    assert next_slot(10.25, 1.0, now=13.7) == 14.25


def test_a_slot_exactly_now_is_not_taken_twice():
    assert next_slot(10.0, 0.5, now=10.5) == 11.0
