"""vercel.json and pyproject.toml describe a deployment that works on every Vercel plan."""

import json
import tomllib
from pathlib import Path

from webapp.config import from_env
from webapp.dispatch.webhook import CONNECT_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
VERCEL = json.loads((ROOT / "vercel.json").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_vercel_finds_the_flask_app_through_the_pyproject_script():
    module, _, attribute = PYPROJECT["project"]["scripts"]["app"].partition(":")
    assert (module, attribute) == ("webapp.wsgi", "app")
    assert "app = create_app()" in (ROOT / "webapp" / "wsgi.py").read_text()


def test_the_function_may_run_one_recover_budget_plus_a_webhook_call_in_flight(tmp_path):
    [(path, settings)] = VERCEL["functions"].items()
    assert path == PYPROJECT["project"]["scripts"]["app"].split(":")[0].replace(".", "/") + ".py"
    defaults = from_env(tmp_path, {})
    needed = defaults["RECOVER_TIME_BUDGET"] + CONNECT_TIMEOUT + defaults["N8N_TIMEOUT"]
    assert needed <= settings["maxDuration"] <= 300  # 300 s: the Hobby plan's limit


def test_the_cron_calls_the_recover_endpoint_once_a_day_so_hobby_accepts_it(app):
    [cron] = VERCEL["crons"]
    minute, hour, *days = cron["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and days == ["*", "*", "*"]  # daily, not */5
    adapter = app.url_map.bind("punctual.example.com")
    assert adapter.match(cron["path"], method="GET")[0] == "api.posts_recover_get"
