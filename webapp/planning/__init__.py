"""Planning a week of posts (blueprint `planning`): the posting queue and the calendar. Every
change to a post goes through the same actions as the forms (webapp/dispatch/actions.py).

queue      the weekly time slots and the next free one: pure, DST-correct
slots      the user's slots in the database, what the queue holds, and "Add to queue"
views      one view per URL and method: the queue's settings, Add to queue, the calendar
calendar   the month and week views: days, hours, posts placed at their local times
"""

from flask import Blueprint

bp = Blueprint("planning", __name__)

from . import views  # noqa: E402,F401 (the views register themselves on bp)
