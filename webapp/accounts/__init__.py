"""Accounts: who the user is and how they connect.

auth      blueprint `auth`: register, log in, log out
settings  blueprint `settings`: time zone, the LinkedIn connection, personal API tokens
linkedin  Connect with LinkedIn: the OAuth 2.0 code flow (no Flask; requests)
forms     the server-side forms (Flask-WTF, each with its CSRF token)
users     creating and finding users (also for the command line)
"""
