"""The scheduling UI (blueprint `posts`): the dashboard, compose / edit, the post page, the live
status badge and the row actions. htmx requests get the widget's new state; plain form posts get
a redirect, so the core flows work without JavaScript.

views      one view per URL and method: parse the request, call one action (dispatch/actions.py)
           or build one page, answer
answers    how a view answers: a widget for htmx, a page or a redirect otherwise; what an action
           says once done
widgets    the context of every page and widget (row, status badge, dashboard, post page, form)
dashboard  the dashboard's sections, the week ahead, the LinkedIn warning, how times are shown
live       the polling rule: when a status badge asks again
preview    the LinkedIn preview beside the composer: the "…see more" fold, hashtags, the author
form       the compose and inline schedule forms: what was typed, read into fields and a time
"""

from flask import Blueprint

bp = Blueprint("posts", __name__)

from . import views  # noqa: E402,F401 (the views register themselves on bp)
