"""vercel.json and pyproject.toml describe a deployment that works on every Vercel plan."""

import importlib.util
import json
import sys
import tomllib
from pathlib import Path

import pytest
from flask import Flask

from webapp import _require_folders, create_app
from webapp.config import ConfigError, from_env
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


def test_vercel_json_names_flask_so_the_build_does_not_depend_on_the_dashboards_preset():
    assert VERCEL["framework"] == "flask"


def test_the_function_ships_the_package_and_the_folders_the_app_serves_and_nothing_else(app):
    [(_, settings)] = VERCEL["functions"].items()
    shipped = {"webapp", Path(app.template_folder).name, Path(app.static_folder).name}
    assert shipped == {"webapp", "templates", "static"}
    assert (ROOT / "webapp").resolve() == Path(app.root_path).resolve()
    # Top-level files, and every top-level folder that is not one of those three, stay out.
    assert settings["excludeFiles"] == "{*,!(webapp|templates|static)/**}"
    # ... which is what scripts/vercel-check.sh holds the built function to.
    spec = importlib.util.spec_from_file_location("vercel_function", ROOT / "scripts" / "vercel_function.py")
    check = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.SHIPPED == shipped | {"_vendor", "vc__handler__python.py"}


def test_the_project_is_not_installed_into_the_function_a_second_time():
    # uv would put a copy of webapp/ into _vendor, without templates/ and static/ beside it.
    assert PYPROJECT["tool"]["uv"]["package"] is False


PRODUCTION = {
    "APP_ENV": "production", "SECRET_KEY": "s" * 32, "APP_URL": "https://punctual.example.com",
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/unreachable", "N8N_WEBHOOK_URL": "https://n8n.test/webhook/x",
    "QSTASH_TOKEN": "token", "QSTASH_CURRENT_SIGNING_KEY": "sig_current0123456789abcdefghijkl",
    "QSTASH_NEXT_SIGNING_KEY": "sig_next0123456789abcdefghijklmnop", "CRON_SECRET": "cron",
}


def test_production_writes_nothing_beside_the_code_whose_folder_is_read_only_on_vercel(tmp_path, monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    instance = tmp_path / "function" / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert not instance.parent.exists()
    assert app.test_client().get("/login").status_code == 200  # no database needed to show it


def test_a_copy_of_the_package_without_its_folders_refuses_to_start_with_a_sentence(tmp_path):
    (tmp_path / "webapp").mkdir()
    (tmp_path / "templates").mkdir()
    copy = Flask("webapp", root_path=str(tmp_path / "webapp"), template_folder="../templates",
                 static_folder="../static")
    with pytest.raises(ConfigError, match=r"static/ folder is not beside the webapp package"):
        _require_folders(copy)
    (tmp_path / "static").mkdir()
    _require_folders(copy)
