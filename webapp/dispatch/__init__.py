"""The dispatch core: plain Python, no Flask request objects.

states     the post statuses and their allowed transitions
store      the only code that writes posts (guarded UPDATEs)
actions    what users do to posts (create, edit, schedule, unschedule, delete)
"""
